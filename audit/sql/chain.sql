-- Numbers and chains each new row of the trail in one of the trail's independent chains,
-- under that chain's head row lock (held until commit). Mirrors audit/chain.py (FIELDS,
-- CHAINS = 16): keep both in step.
CREATE OR REPLACE FUNCTION audit_accessevent_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    chains CONSTANT smallint := 16;
    held smallint;
    preferred smallint;
    chosen smallint;
    head_seq bigint;
    head_hash varchar(64);
BEGIN
    -- The chain this transaction writes to, once chosen: the rows of one statement (a page of
    -- 50 studies) or of one transaction stay in one chain, in insertion order.
    held := nullif(current_setting('audit.chain', true), '')::smallint;
    IF held BETWEEN 1 AND chains THEN
        chosen := held;
        SELECT seq, hash INTO head_seq, head_hash FROM audit_chainhead WHERE id = chosen
            FOR UPDATE;
    ELSE
        held := NULL;
        -- The session's own chain (one connection keeps one chain), or else the next one that
        -- no other transaction holds: writers in different sessions do not queue behind one
        -- another's commit.
        preferred := pg_backend_pid() % chains + 1;
        chosen := preferred;
        SELECT seq, hash INTO head_seq, head_hash FROM audit_chainhead WHERE id = chosen
            FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            SELECT id, seq, hash INTO chosen, head_seq, head_hash FROM audit_chainhead
                WHERE id BETWEEN 1 AND chains
                ORDER BY (id - preferred + chains) % chains
                LIMIT 1 FOR UPDATE SKIP LOCKED;
            chosen := coalesce(chosen, preferred);
        END IF;
    END IF;
    IF head_seq IS NULL THEN
        IF NOT EXISTS (SELECT FROM audit_chainhead WHERE id = chosen) THEN
            -- An emptied database (a test flush): every chain starts at the genesis.
            INSERT INTO audit_chainhead (id, seq, hash)
                SELECT n, 0, repeat('0', 64) FROM generate_series(1, chains) AS n
                ON CONFLICT (id) DO NOTHING;
        END IF;
        -- Or every chain is held by another writer: wait for this one.
        SELECT seq, hash INTO head_seq, head_hash FROM audit_chainhead WHERE id = chosen
            FOR UPDATE;
    END IF;
    IF held IS NULL THEN
        PERFORM set_config('audit.chain', chosen::text, true);
    END IF;
    NEW.chain := chosen;
    NEW.chain_seq := head_seq + 1;
    NEW.prev_hash := head_hash;
    NEW.hash := encode(sha256(convert_to(concat_ws(chr(31),
        NEW.chain::text,
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
    UPDATE audit_chainhead SET seq = NEW.chain_seq, hash = NEW.hash WHERE id = chosen;
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
