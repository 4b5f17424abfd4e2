-- The last audit event of a convention, read by the portfolio to know whether a line it computed is
-- still true (Store::audit_stamps): an index lookup instead of a scan of the convention's events.
CREATE INDEX audit_event_convention_id ON audit_event (convention_id, id);
