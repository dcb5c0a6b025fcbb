-- Numbers and chains each new row of the trail under the chain head's row lock, so that
-- concurrent inserts form one chain. Mirrors audit/chain.py: keep both in step.
CREATE OR REPLACE FUNCTION audit_accessevent_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash varchar(64);
BEGIN
    SELECT seq, hash INTO head_seq, head_hash FROM audit_chainhead WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        -- An emptied database (a test flush) starts a new chain.
        INSERT INTO audit_chainhead (id, seq, hash) VALUES (1, 0, repeat('0', 64))
            ON CONFLICT (id) DO NOTHING;
        SELECT seq, hash INTO head_seq, head_hash FROM audit_chainhead WHERE id = 1 FOR UPDATE;
    END IF;
    NEW.chain_seq := head_seq + 1;
    NEW.prev_hash := head_hash;
    NEW.hash := encode(sha256(convert_to(concat_ws(chr(31),
        NEW.chain_seq::text,
        to_char(NEW.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        coalesce(NEW.actor_id::text, ''),
        NEW.actor_label,
        NEW.actor_role,
        coalesce(NEW.actor_practitioner_id::text, ''),
        coalesce(NEW.patient_id::text, ''),
        coalesce(NEW.study_id::text, ''),
        NEW.study_instance_uid,
        coalesce(NEW.establishment_id::text, ''),
        NEW.action,
        NEW.channel,
        CASE WHEN NEW.granted THEN '1' ELSE '0' END,
        NEW.rule,
        NEW.purpose,
        coalesce(NEW.grant_id::text, ''),
        coalesce(NEW.break_glass_id::text, ''),
        coalesce(host(NEW.source_ip), ''),
        NEW.prev_hash
    ), 'UTF8')), 'hex');
    UPDATE audit_chainhead SET seq = NEW.chain_seq, hash = NEW.hash WHERE id = 1;
    RETURN NEW;
END
$$;

-- The trail is append-only: old months leave whole, by the retention command dropping their
-- partition, never row by row.
CREATE OR REPLACE FUNCTION audit_accessevent_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'la trace d''accès est en ajout seul : % refusé sur %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
