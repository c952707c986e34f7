"""A small shop: products, customers and orders, each model built from mixins."""
