from traitctl.cli import main

main()
