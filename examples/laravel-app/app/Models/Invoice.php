<?php

namespace App\Models;

use App\Enums\InvoiceStatus;
use App\Models\Traits\Auditable;
use App\Models\Traits\BelongsToTenant;
use App\Models\Traits\HasStatus;

/**
 * Invoices are audited and follow their own status workflow.
 *
 * HasStatus and Auditable both define label(): the status label wins, the audit label stays
 * reachable as auditLabel().
 */
class Invoice extends BaseModel
{
    use BelongsToTenant;
    use HasStatus, Auditable {
        HasStatus::label insteadof Auditable;
        Auditable::label as protected auditLabel;
    }

    protected $fillable = ['number', 'order_id', 'total', 'status', 'due_at'];

    protected $casts = ['due_at' => 'date', 'total' => 'decimal:2'];

    /** Invoices cannot be archived before they are paid: a custom workflow replacing HasStatus's. */
    public function statusTransitions(): array
    {
        return [
            InvoiceStatus::Draft->value => [InvoiceStatus::Sent->value],
            InvoiceStatus::Sent->value => [InvoiceStatus::Paid->value, InvoiceStatus::Void->value],
            InvoiceStatus::Paid->value => [InvoiceStatus::Archived->value],
            InvoiceStatus::Void->value => [],
            InvoiceStatus::Archived->value => [],
        ];
    }

    public function order()
    {
        return $this->belongsTo(Order::class);
    }
}
