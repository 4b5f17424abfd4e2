-- A mail the SMTP server refuses for good (an address that does not exist: a 5xx answer), or that a
-- recipient's address cannot even be written to, or that failed MAX_MAIL_ATTEMPTS times
-- (ctg_domain::reminders), is abandoned: kept with its last error, never claimed again.
ALTER TABLE mail_outbox ADD COLUMN abandoned_at TEXT;
