<?php

namespace App\Enums;

enum InvoiceStatus: string
{
    case Draft = 'draft';
    case Sent = 'sent';
    case Paid = 'paid';
    case Void = 'void';
    case Archived = 'archived';

    public function label(): string
    {
        return ucfirst($this->value);
    }
}
