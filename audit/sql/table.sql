-- The trail, partitioned by month of recorded_at. PostgreSQL 15 has no identity columns on
-- partitioned tables, hence a plain sequence; the primary key must hold the partition key.
-- chain (1 to audit.chain.CHAINS) and chain_seq, the rank within that chain, are set by the
-- trigger of chain.sql.
CREATE SEQUENCE audit_accessevent_id_seq;
CREATE TABLE audit_accessevent (
    id bigint NOT NULL DEFAULT nextval('audit_accessevent_id_seq'),
    chain smallint NOT NULL,
    chain_seq bigint NOT NULL,
    recorded_at timestamp with time zone NOT NULL,
    actor_id bigint NULL,
    actor_label varchar(254) NOT NULL,
    actor_role varchar(16) NOT NULL,
    actor_practitioner_id bigint NULL,
    patient_id bigint NULL,
    study_id bigint NULL,
    study_instance_uid varchar(64) NOT NULL,
    establishment_id bigint NULL,
    action varchar(16) NOT NULL,
    channel varchar(16) NOT NULL,
    granted boolean NOT NULL,
    rule varchar(24) NOT NULL,
    purpose varchar(32) NOT NULL,
    grant_id bigint NULL,
    break_glass_id bigint NULL,
    source_ip inet NULL,
    prev_hash varchar(64) NOT NULL,
    hash varchar(64) NOT NULL,
    PRIMARY KEY (id, recorded_at),
    CONSTRAINT audit_event_chain_range CHECK (chain BETWEEN 1 AND 16)
) PARTITION BY RANGE (recorded_at);
ALTER SEQUENCE audit_accessevent_id_seq OWNED BY audit_accessevent.id;
CREATE INDEX audit_event_patient ON audit_accessevent (patient_id, recorded_at);
CREATE INDEX audit_event_actor ON audit_accessevent (actor_id, recorded_at);
CREATE INDEX audit_event_establishment ON audit_accessevent (establishment_id, recorded_at);
CREATE INDEX audit_event_recorded ON audit_accessevent (recorded_at);
CREATE INDEX audit_event_chain ON audit_accessevent (chain, chain_seq);
CREATE INDEX audit_event_break_glass ON audit_accessevent (break_glass_id)
    WHERE break_glass_id IS NOT NULL;
CREATE TRIGGER audit_accessevent_chain BEFORE INSERT ON audit_accessevent
    FOR EACH ROW EXECUTE FUNCTION audit_accessevent_chain();
CREATE TRIGGER audit_accessevent_append_only BEFORE UPDATE OR DELETE ON audit_accessevent
    FOR EACH ROW EXECUTE FUNCTION audit_accessevent_refuse_change();
