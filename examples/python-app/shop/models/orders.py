"""Orders and their lines."""

from sqlalchemy import Column, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import relationship

from .. import mixins
from ..db import Base


class Order(mixins.TimestampMixin, mixins.SoftDeleteMixin, mixins.TenantMixin, Base):
    __tablename__ = "orders"

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False)
    status = Column(String(20), default="open", nullable=False)
    lines = relationship("OrderLine", back_populates="order")

    def soft_delete(self) -> None:
        # Paid orders are kept for accounting: cancel instead of hiding them.
        if self.status == "paid":
            raise ValueError("paid orders cannot be deleted")
        super().soft_delete()


class OrderLine(Base):
    __tablename__ = "order_lines"

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_price = Column(Numeric(10, 2), nullable=False)
    order = relationship("Order", back_populates="lines")
