"""Customers, audited."""

from sqlalchemy import Column, Integer, String

from shop.db import Base
from shop.mixins import AuditMixin, TenantMixin


class Customer(AuditMixin, TenantMixin, Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    email = Column(String(200), nullable=False)
    name = Column(String(200), nullable=False)

    def audit_label(self) -> str:
        # Customers are listed by e-mail address in the audit trail, not by id.
        return f"Customer {self.email}"
