"""The declarative base every model derives from."""

from sqlalchemy.orm import declarative_base

Base = declarative_base()
