-- revision: 0013
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
)
;
CREATE TABLE api_token (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	unit_id INTEGER NOT NULL, 
	role VARCHAR(20) NOT NULL, 
	token_sha256 VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_api_token PRIMARY KEY (id), 
	CONSTRAINT uq_api_token_name UNIQUE (name), 
	CONSTRAINT uq_api_token_token_sha256 UNIQUE (token_sha256), 
	CONSTRAINT fk_api_token_unit_id_unit FOREIGN KEY(unit_id) REFERENCES unit (id)
)
;
CREATE TABLE app_secret (
	name VARCHAR(40) NOT NULL, 
	value VARCHAR(200) NOT NULL, 
	CONSTRAINT pk_app_secret PRIMARY KEY (name)
)
;
CREATE TABLE calendar_day (
	id INTEGER NOT NULL, 
	year INTEGER NOT NULL, 
	day DATE NOT NULL, 
	kind VARCHAR(10) NOT NULL, 
	name VARCHAR(40) NOT NULL, 
	source VARCHAR(255) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	imported_at DATETIME NOT NULL, 
	CONSTRAINT pk_calendar_day PRIMARY KEY (id), 
	CONSTRAINT uq_calendar_day_year_day UNIQUE (year, day)
)
;
CREATE TABLE counter (
	name VARCHAR(40) NOT NULL, 
	value INTEGER NOT NULL, 
	CONSTRAINT pk_counter PRIMARY KEY (name)
)
;
CREATE TABLE evidence (
	id INTEGER NOT NULL, 
	task_id INTEGER NOT NULL, 
	unit_id INTEGER NOT NULL, 
	progress_id INTEGER, 
	filename VARCHAR(255) NOT NULL, 
	content_type VARCHAR(100) NOT NULL, 
	size INTEGER NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	content BLOB NOT NULL, 
	at DATETIME NOT NULL, 
	CONSTRAINT pk_evidence PRIMARY KEY (id), 
	CONSTRAINT fk_evidence_task_id_task FOREIGN KEY(task_id) REFERENCES task (id) ON DELETE CASCADE, 
	CONSTRAINT fk_evidence_unit_id_unit FOREIGN KEY(unit_id) REFERENCES unit (id), 
	CONSTRAINT fk_evidence_progress_id_progress_report FOREIGN KEY(progress_id) REFERENCES progress_report (id) ON DELETE SET NULL
)
;
CREATE TABLE history (
	id INTEGER NOT NULL, 
	task_id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	action VARCHAR(40) NOT NULL, 
	from_value TEXT, 
	to_value TEXT, 
	reason TEXT NOT NULL, 
	request_id INTEGER, person VARCHAR(200), via VARCHAR(10), 
	CONSTRAINT pk_history PRIMARY KEY (id), 
	CONSTRAINT fk_history_request_id_request FOREIGN KEY(request_id) REFERENCES request (id), 
	CONSTRAINT fk_history_task_id_task FOREIGN KEY(task_id) REFERENCES task (id) ON DELETE CASCADE
)
;
CREATE TABLE instance (
	id VARCHAR(100) NOT NULL, 
	host VARCHAR(255) NOT NULL, 
	pid INTEGER NOT NULL, 
	version VARCHAR(40) NOT NULL, 
	interval_seconds INTEGER NOT NULL, 
	started_at DATETIME NOT NULL, 
	beat_at DATETIME NOT NULL, kind VARCHAR(10) DEFAULT 'run' NOT NULL, 
	CONSTRAINT pk_instance PRIMARY KEY (id)
)
;
CREATE TABLE mail_reply (
	id INTEGER NOT NULL, 
	"key" VARCHAR(64) NOT NULL, 
	message_id TEXT NOT NULL, 
	sender VARCHAR(320) NOT NULL, 
	notice_id INTEGER, 
	outcome VARCHAR(20) NOT NULL, 
	reason TEXT NOT NULL, 
	read_at DATETIME NOT NULL, 
	CONSTRAINT pk_mail_reply PRIMARY KEY (id), 
	CONSTRAINT uq_mail_reply_key UNIQUE ("key")
)
;
CREATE TABLE "notice_key" (
	id INTEGER NOT NULL, 
	"key" VARCHAR(600) NOT NULL, 
	notice_id INTEGER NOT NULL, 
	task VARCHAR(400) NOT NULL, 
	series VARCHAR(600) NOT NULL, 
	occurs_on DATE, 
	CONSTRAINT pk_notice_key PRIMARY KEY (id), 
	CONSTRAINT uq_notice_key_key UNIQUE ("key"), 
	CONSTRAINT fk_notice_key_notice_id_outbox FOREIGN KEY(notice_id) REFERENCES outbox (id) ON DELETE CASCADE
)
;
CREATE TABLE outbox (
	id INTEGER NOT NULL, 
	plan_id VARCHAR(100), 
	kind VARCHAR(40) NOT NULL, 
	recipient VARCHAR(200) NOT NULL, 
	channel VARCHAR(20) NOT NULL, 
	level INTEGER NOT NULL, 
	is_copy BOOLEAN NOT NULL, 
	tasks JSON NOT NULL, 
	occurrence VARCHAR(200) NOT NULL, 
	dedupe_key VARCHAR(400) NOT NULL, 
	context JSON NOT NULL, 
	send_at DATETIME NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME, 
	sent_at DATETIME, 
	error TEXT, 
	provider_response TEXT, 
	created_at DATETIME NOT NULL, claimed_by VARCHAR(64), lease_until DATETIME, parts_sent INTEGER DEFAULT '0' NOT NULL, 
	CONSTRAINT pk_outbox PRIMARY KEY (id), 
	CONSTRAINT uq_outbox_dedupe_key UNIQUE (dedupe_key)
)
;
CREATE TABLE "plan" (
	id VARCHAR(100) NOT NULL, 
	title TEXT NOT NULL, 
	coordinator_id INTEGER, 
	timezone VARCHAR(64) NOT NULL, 
	source_file TEXT, 
	source_sha256 VARCHAR(64), 
	columns JSON NOT NULL, 
	file_path TEXT, 
	loaded_at DATETIME NOT NULL, load_digest VARCHAR(64), task_count INTEGER DEFAULT '0' NOT NULL, 
	CONSTRAINT pk_plan PRIMARY KEY (id), 
	CONSTRAINT fk_plan_coordinator_id_unit FOREIGN KEY(coordinator_id) REFERENCES unit (id)
)
;
CREATE TABLE planning_mark (
	id INTEGER NOT NULL, 
	day DATE NOT NULL, 
	at DATETIME NOT NULL, 
	revision INTEGER NOT NULL, 
	fingerprint VARCHAR(64) NOT NULL, dues JSON, 
	CONSTRAINT pk_planning_mark PRIMARY KEY (id)
)
;
CREATE TABLE progress_report (
	id INTEGER NOT NULL, 
	task_id INTEGER NOT NULL, 
	unit_id INTEGER NOT NULL, 
	text TEXT NOT NULL, 
	at DATETIME NOT NULL, 
	CONSTRAINT pk_progress_report PRIMARY KEY (id), 
	CONSTRAINT fk_progress_report_task_id_task FOREIGN KEY(task_id) REFERENCES task (id) ON DELETE CASCADE, 
	CONSTRAINT fk_progress_report_unit_id_unit FOREIGN KEY(unit_id) REFERENCES unit (id)
)
;
CREATE TABLE request (
	id INTEGER NOT NULL, 
	task_id INTEGER NOT NULL, 
	type VARCHAR(20) NOT NULL, 
	to_status VARCHAR(20), 
	until DATE, 
	reason TEXT NOT NULL, 
	unit_id INTEGER NOT NULL, 
	state VARCHAR(20) NOT NULL, 
	created_at DATETIME NOT NULL, 
	decided_by VARCHAR(200), 
	decided_at DATETIME, 
	decision_reason TEXT, 
	CONSTRAINT pk_request PRIMARY KEY (id), 
	CONSTRAINT fk_request_task_id_task FOREIGN KEY(task_id) REFERENCES task (id) ON DELETE CASCADE, 
	CONSTRAINT fk_request_unit_id_unit FOREIGN KEY(unit_id) REFERENCES unit (id)
)
;
CREATE TABLE robot_bucket (
	robot VARCHAR(64) NOT NULL, 
	sent JSON NOT NULL, 
	CONSTRAINT pk_robot_bucket PRIMARY KEY (robot)
)
;
CREATE TABLE section (
	id INTEGER NOT NULL, 
	plan_id VARCHAR(100) NOT NULL, 
	no VARCHAR(20) NOT NULL, 
	title TEXT NOT NULL, 
	position INTEGER NOT NULL, 
	CONSTRAINT pk_section PRIMARY KEY (id), 
	CONSTRAINT fk_section_plan_id_plan FOREIGN KEY(plan_id) REFERENCES "plan" (id) ON DELETE CASCADE, 
	CONSTRAINT uq_section_plan_id_no UNIQUE (plan_id, no)
)
;
CREATE TABLE task (
	id INTEGER NOT NULL, 
	plan_id VARCHAR(100) NOT NULL, 
	no INTEGER NOT NULL, 
	section_no VARCHAR(20), 
	position INTEGER NOT NULL, 
	title TEXT NOT NULL, 
	content TEXT NOT NULL, 
	units_text TEXT NOT NULL, 
	deadline_text TEXT NOT NULL, 
	deadline_kind VARCHAR(20) NOT NULL, 
	due DATE, 
	milestones JSON NOT NULL, 
	rrule TEXT, 
	start DATE, 
	file_deadline JSON NOT NULL, 
	original_due DATE, 
	status VARCHAR(20) NOT NULL, 
	progress TEXT NOT NULL, 
	progress_at DATETIME, 
	in_plan BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, revision INTEGER DEFAULT '0' NOT NULL, 
	CONSTRAINT pk_task PRIMARY KEY (id), 
	CONSTRAINT fk_task_plan_id_plan FOREIGN KEY(plan_id) REFERENCES "plan" (id) ON DELETE CASCADE, 
	CONSTRAINT uq_task_plan_id_no UNIQUE (plan_id, no)
)
;
CREATE TABLE task_unit (
	task_id INTEGER NOT NULL, 
	unit_id INTEGER NOT NULL, 
	role VARCHAR(10) NOT NULL, 
	position INTEGER NOT NULL, 
	CONSTRAINT pk_task_unit PRIMARY KEY (task_id, unit_id), 
	CONSTRAINT fk_task_unit_task_id_task FOREIGN KEY(task_id) REFERENCES task (id) ON DELETE CASCADE, 
	CONSTRAINT fk_task_unit_unit_id_unit FOREIGN KEY(unit_id) REFERENCES unit (id)
)
;
CREATE TABLE unit (
	id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	CONSTRAINT pk_unit PRIMARY KEY (id), 
	CONSTRAINT uq_unit_name UNIQUE (name)
)
;
CREATE TABLE unit_alias (
	alias VARCHAR(200) NOT NULL, 
	unit_id INTEGER NOT NULL, 
	CONSTRAINT pk_unit_alias PRIMARY KEY (alias), 
	CONSTRAINT fk_unit_alias_unit_id_unit FOREIGN KEY(unit_id) REFERENCES unit (id) ON DELETE CASCADE
)
;
CREATE TABLE unit_link (
	unit_id INTEGER NOT NULL, 
	generation INTEGER DEFAULT '0' NOT NULL, 
	revoked_at DATETIME, 
	CONSTRAINT pk_unit_link PRIMARY KEY (unit_id), 
	CONSTRAINT fk_unit_link_unit_id_unit FOREIGN KEY(unit_id) REFERENCES unit (id)
)
;
CREATE TABLE web_user (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	unit_id INTEGER NOT NULL, 
	role VARCHAR(20) NOT NULL, 
	password_hash TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	failed_logins INTEGER DEFAULT '0' NOT NULL, 
	last_failed_at DATETIME, 
	CONSTRAINT pk_web_user PRIMARY KEY (id), 
	CONSTRAINT uq_web_user_name UNIQUE (name), 
	CONSTRAINT fk_web_user_unit_id_unit FOREIGN KEY(unit_id) REFERENCES unit (id)
)
;
CREATE INDEX ix_evidence_task_id ON evidence (task_id)
;
CREATE INDEX ix_history_task_at ON history (task_id, at)
;
CREATE INDEX ix_notice_key_notice_id ON notice_key (notice_id)
;
CREATE INDEX ix_notice_key_occurs_on ON notice_key (occurs_on)
;
CREATE INDEX ix_notice_key_series_id ON notice_key (series, id)
;
CREATE INDEX ix_notice_key_task ON notice_key (task)
;
CREATE INDEX ix_outbox_status_send_at ON outbox (status, send_at)
;
CREATE INDEX ix_progress_report_task_at ON progress_report (task_id, at)
;
CREATE INDEX ix_request_state ON request (state)
;
CREATE INDEX ix_request_task_id ON request (task_id)
;
CREATE INDEX ix_task_deadline_kind ON task (deadline_kind)
;
CREATE INDEX ix_task_due ON task (due)
;
CREATE INDEX ix_task_revision ON task (revision)
;
CREATE INDEX ix_task_status ON task (status)
;
INSERT INTO "alembic_version" ("version_num") VALUES ('0013')
;
INSERT INTO "counter" ("name", "value") VALUES ('task', 0)
;
