"""The CRM integration contract: external ids and upserts, deletes and reassigns, the change feed, webhooks and
the audit trail. Every table here carries a tenant id and every query goes through ``tenancy``."""
