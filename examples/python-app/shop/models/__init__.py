"""The shop's models."""

from .catalog import Category, Product
from .customers import Customer
from .orders import Order, OrderLine

__all__ = ["Category", "Customer", "Order", "OrderLine", "Product"]
