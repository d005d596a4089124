"""A sample project library shaped like Resolve's (for the demo, tests and bench; not shipped).

Table and column names follow what Resolve's schema is known to use: quoted,
mixed case ("SM_Project", "SM_ProjectFolder", "Sm2Timeline", ...), and a large
object, so dumps need large objects included as Resolve's own backups do.
"""

SCHEMA = '''
CREATE TABLE "SM_ProjectFolder" ("SM_ProjectFolder_id" uuid PRIMARY KEY, "ParentFolder" uuid,
    "Name" text NOT NULL);
CREATE TABLE "SM_Project" ("SM_Project_id" uuid PRIMARY KEY, "ProjectName" text NOT NULL,
    "Folder" uuid REFERENCES "SM_ProjectFolder", "LastModTimeInSecs" bigint, "FieldsBlob" bytea);
CREATE TABLE "Sm2Timeline" ("Sm2Timeline_id" uuid PRIMARY KEY, "Name" text, "FieldsBlob" bytea);
CREATE TABLE "SM_Project_Sm2Timeline" ("SM_Project_id" uuid REFERENCES "SM_Project",
    "Sm2Timeline_id" uuid REFERENCES "Sm2Timeline");
CREATE TABLE "Sm2MediaPool" ("Sm2MediaPool_id" uuid PRIMARY KEY, "SM_Project_id" uuid);
CREATE TABLE "Sm2MpFolder" ("Sm2MpFolder_id" uuid PRIMARY KEY, "Name" text, "Sm2MediaPool_id" uuid);
CREATE TABLE "Sm2MpMedia" ("Sm2MpMedia_id" uuid PRIMARY KEY, "Name" text, "FilePath" text,
    "Sm2MpFolder_id" uuid);
CREATE TABLE "Sm2TiItem" ("Sm2TiItem_id" uuid PRIMARY KEY, "Sm2Timeline_id" uuid, "Start" bigint,
    "Payload" bytea);
'''


def sample_sql(projects=3, items_per_timeline=20, payload_bytes=64):
    """SQL that fills the schema: folders, projects, timelines, media, items, one large object.

    `payload_bytes` sizes each timeline item's blob, so a bench can ask for a
    library of hundreds of megabytes with the same shape.
    """
    return SCHEMA + f'''

INSERT INTO "SM_ProjectFolder" VALUES ('00000000-0000-0000-0000-000000000001', NULL, 'Root'),
    ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001', 'Commercials');
INSERT INTO "SM_Project"
  SELECT gen_random_uuid(), 'Project ' || i,
         CASE WHEN i % 2 = 0 THEN '00000000-0000-0000-0000-000000000002'::uuid
              ELSE '00000000-0000-0000-0000-000000000001'::uuid END,
         1700000000 + i * 3600, decode(md5(i::text), 'hex')
  FROM generate_series(1, {projects}) AS i;
INSERT INTO "Sm2Timeline" SELECT gen_random_uuid(), 'Timeline ' || i, decode(md5('t' || i), 'hex')
  FROM generate_series(1, {projects} * 2) AS i;
INSERT INTO "SM_Project_Sm2Timeline"
  SELECT p."SM_Project_id", t."Sm2Timeline_id"
  FROM (SELECT "SM_Project_id", row_number() OVER (ORDER BY "ProjectName") AS n FROM "SM_Project") p
  JOIN (SELECT "Sm2Timeline_id", row_number() OVER (ORDER BY "Name") AS n FROM "Sm2Timeline") t
    ON t.n IN (2 * p.n - 1, 2 * p.n);
INSERT INTO "Sm2MediaPool" SELECT gen_random_uuid(), "SM_Project_id" FROM "SM_Project";
INSERT INTO "Sm2MpFolder" SELECT gen_random_uuid(), 'Master', "Sm2MediaPool_id" FROM "Sm2MediaPool";
INSERT INTO "Sm2MpMedia" SELECT gen_random_uuid(), 'A00' || i || '.mov', '/Volumes/Media/Day1/A00' || i || '.mov',
    (SELECT "Sm2MpFolder_id" FROM "Sm2MpFolder" LIMIT 1) FROM generate_series(1, {projects} * 4) AS i;
INSERT INTO "Sm2TiItem"
  SELECT gen_random_uuid(), t."Sm2Timeline_id", i * 24,
         decode(repeat(md5(t."Name" || i), greatest(1, {payload_bytes} / 16)), 'hex')
  FROM "Sm2Timeline" t, generate_series(1, {items_per_timeline}) AS i;
SELECT lo_from_bytea(0, convert_to('Resolve still ' || repeat('x', 2048), 'UTF8'));
'''


def create_library(cluster, name="Resolve Projects", **kwargs):
    """Create database `name` on `cluster` and fill it with the sample."""
    quoted = '"' + name.replace('"', '""') + '"'
    cluster.psql(f"CREATE DATABASE {quoted};")
    cluster.psql(sample_sql(**kwargs), database=name)
    return name
