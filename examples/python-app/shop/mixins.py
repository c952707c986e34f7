"""Behaviour shared by models: the Python counterpart of the Laravel app's traits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, DateTime, Integer, String
from sqlalchemy.orm import declared_attr


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class TimestampMixin:
    """created_at / updated_at maintained on write."""

    created_at = Column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at = Column(DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False)

    def touch(self) -> None:
        self.updated_at = utcnow()


class SoftDeleteMixin:
    """Rows are flagged deleted instead of removed."""

    deleted = Column(Boolean, default=False, nullable=False)
    deleted_at = Column(DateTime(timezone=True), nullable=True)

    def soft_delete(self) -> None:
        self.deleted = True
        self.deleted_at = utcnow()

    def restore(self) -> None:
        self.deleted = False
        self.deleted_at = None


class TenantMixin:
    """The tenant-aware mixin: a tenant column and a query helper scoped to one tenant."""

    __tenant_column__ = "tenant_id"

    @declared_attr
    def tenant_id(cls):
        return Column(String(64), index=True, nullable=False)

    @classmethod
    def for_tenant(cls, query, tenant_id: str):
        return query.filter(getattr(cls, cls.__tenant_column__) == tenant_id)


class AuditMixin(TimestampMixin):
    """Who created and last changed a row (builds on TimestampMixin: a mixin using a mixin)."""

    created_by = Column(Integer, nullable=True)
    updated_by = Column(Integer, nullable=True)

    def audit_label(self) -> str:
        return f"{type(self).__name__} #{self.id}"
