"""Static inventory of traits and models: PHP (tree-sitter-php) and Python (ast), never executed."""
