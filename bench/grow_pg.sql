-- Grow a bench.hub PostgreSQL workspace k-fold (here 6x: the original plus 5 copies) without
-- going through the API: every person is copied with its email, activities, search document and
-- title postings under new ids and a prefixed email, so names keep their distribution.
--   psql -h 127.0.0.1 -U postgres -d rapport_bench_hub_1000000 -f bench/grow_pg.sql
-- then: uv run python -m bench.hub --database postgresql --people 1000000 --reuse
\timing on
CREATE TEMP TABLE base AS SELECT id FROM people;
DO $$
DECLARE k int;
BEGIN
  FOR k IN 1..5 LOOP
    DROP TABLE IF EXISTS map;
    CREATE TEMP TABLE map AS SELECT id AS old_id, gen_random_uuid() AS new_id FROM base;
    CREATE INDEX ON map (old_id);
    ANALYZE map;
    INSERT INTO people (first_name,last_name,full_name,email,phone,job_title,company_id,owner_id,lifecycle_stage,source,addresses,preferences,consent_status,consent_updated_at,custom,external_id,workspace_id,id,created_at,updated_at,version,deleted_at)
      SELECT first_name,last_name,full_name,'c'||k||'.'||email,phone,job_title,company_id,owner_id,lifecycle_stage,source,addresses,preferences,consent_status,consent_updated_at,custom,external_id,workspace_id,m.new_id,created_at,updated_at,version,deleted_at
      FROM people p JOIN map m ON p.id = m.old_id;
    INSERT INTO person_emails (person_id,email,label,is_primary,position,workspace_id,id)
      SELECT m.new_id,'c'||k||'.'||e.email,label,is_primary,position,workspace_id,gen_random_uuid()
      FROM person_emails e JOIN map m ON e.person_id = m.old_id;
    INSERT INTO activities (kind,channel,direction,occurred_at,subject,body,person_id,company_id,amount,currency,source,external_id,actor_id,meta,workspace_id,id,created_at,updated_at,version,deleted_at)
      SELECT kind,channel,direction,occurred_at,subject,body,m.new_id,company_id,amount,currency,source,external_id,actor_id,meta,workspace_id,gen_random_uuid(),created_at,updated_at,version,deleted_at
      FROM activities a JOIN map m ON a.person_id = m.old_id;
    INSERT INTO search_documents (record_type,record_id,title,subtitle,content,updated_at,workspace_id)
      SELECT record_type,m.new_id,title,subtitle,content,updated_at,workspace_id
      FROM search_documents d JOIN map m ON d.record_id = m.old_id AND d.record_type = 'person';
    INSERT INTO search_postings (workspace_id,term,record_type,doc_id)
      SELECT p.workspace_id,p.term,p.record_type,nd.doc_id
      FROM search_postings p
      JOIN search_documents od ON od.doc_id = p.doc_id AND od.record_type = 'person'
      JOIN map m ON m.old_id = od.record_id
      JOIN search_documents nd ON nd.record_id = m.new_id AND nd.record_type = 'person';
    RAISE NOTICE 'copy % done', k;
  END LOOP;
END $$;
ANALYZE;
SELECT count(*) AS people FROM people;
