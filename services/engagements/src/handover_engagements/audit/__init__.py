from handover_engagements.audit.service import AuditTrail

__all__ = ["AuditTrail"]
