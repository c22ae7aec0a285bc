-- MLflow 3.17.2's basic-auth schema for PostgreSQL (Alembic head f1a2b3c4d5e6
-- in alembic_version_auth): the tables, column types, sequences, constraint
-- and index names that `mlflow server --app-name basic-auth` creates, so one
-- auth database serves both servers. Applied by ferroflow's auth store, in
-- one transaction, on an empty auth database. The permission tables other
-- than role_permissions are MLflow's legacy tables: kept, never read.

CREATE TABLE alembic_version_auth (
    version_num character varying(32) NOT NULL,
    CONSTRAINT alembic_version_auth_pkc PRIMARY KEY (version_num)
);

CREATE TABLE users (
    id serial NOT NULL,
    username character varying(255),
    password_hash character varying(255),
    is_admin boolean,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE experiment_permissions (
    id serial NOT NULL,
    experiment_id character varying(255) NOT NULL,
    user_id integer NOT NULL,
    permission character varying(255),
    CONSTRAINT experiment_permissions_pkey PRIMARY KEY (id),
    CONSTRAINT unique_experiment_user UNIQUE (experiment_id, user_id),
    CONSTRAINT fk_user_id FOREIGN KEY (user_id) REFERENCES users(id)
);

CREATE TABLE scorer_permissions (
    id serial NOT NULL,
    experiment_id character varying(255) NOT NULL,
    scorer_name character varying(256) NOT NULL,
    user_id integer NOT NULL,
    permission character varying(255),
    CONSTRAINT scorer_permissions_pkey PRIMARY KEY (id),
    CONSTRAINT unique_scorer_user UNIQUE (experiment_id, scorer_name, user_id),
    CONSTRAINT fk_scorer_perm_user_id FOREIGN KEY (user_id) REFERENCES users(id)
);

CREATE TABLE gateway_secret_permissions (
    id serial NOT NULL,
    secret_id character varying(255) NOT NULL,
    user_id integer NOT NULL,
    permission character varying(255),
    CONSTRAINT gateway_secret_permissions_pkey PRIMARY KEY (id),
    CONSTRAINT unique_secret_user UNIQUE (secret_id, user_id),
    CONSTRAINT fk_gateway_secret_perm_user_id FOREIGN KEY (user_id) REFERENCES users(id)
);

CREATE TABLE gateway_endpoint_permissions (
    id serial NOT NULL,
    endpoint_id character varying(255) NOT NULL,
    user_id integer NOT NULL,
    permission character varying(255),
    CONSTRAINT gateway_endpoint_permissions_pkey PRIMARY KEY (id),
    CONSTRAINT unique_endpoint_user UNIQUE (endpoint_id, user_id),
    CONSTRAINT fk_gateway_endpoint_perm_user_id FOREIGN KEY (user_id) REFERENCES users(id)
);

CREATE TABLE gateway_model_definition_permissions (
    id serial NOT NULL,
    model_definition_id character varying(255) NOT NULL,
    user_id integer NOT NULL,
    permission character varying(255),
    CONSTRAINT gateway_model_definition_permissions_pkey PRIMARY KEY (id),
    CONSTRAINT unique_model_def_user UNIQUE (model_definition_id, user_id),
    CONSTRAINT fk_gateway_model_def_perm_user_id FOREIGN KEY (user_id) REFERENCES users(id)
);

CREATE TABLE workspace_permissions (
    workspace character varying(63) NOT NULL,
    user_id integer NOT NULL,
    permission character varying(32) NOT NULL,
    CONSTRAINT workspace_permissions_pk PRIMARY KEY (workspace, user_id),
    CONSTRAINT workspace_permissions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id)
);
CREATE INDEX idx_workspace_permissions_user_id ON workspace_permissions USING btree (user_id);
CREATE INDEX idx_workspace_permissions_workspace ON workspace_permissions USING btree (workspace);

CREATE TABLE registered_model_permissions (
    id serial NOT NULL,
    name character varying(255) NOT NULL,
    user_id integer NOT NULL,
    permission character varying(255),
    workspace character varying(63) DEFAULT 'default'::character varying NOT NULL,
    CONSTRAINT registered_model_permissions_pkey PRIMARY KEY (id),
    CONSTRAINT unique_workspace_name_user UNIQUE (workspace, name, user_id),
    CONSTRAINT fk_user_id FOREIGN KEY (user_id) REFERENCES users(id)
);

CREATE TABLE roles (
    id serial NOT NULL,
    name character varying(255) NOT NULL,
    workspace character varying(63) NOT NULL,
    description character varying(1024),
    CONSTRAINT roles_pkey PRIMARY KEY (id),
    CONSTRAINT unique_workspace_role_name UNIQUE (workspace, name)
);
CREATE INDEX idx_roles_workspace ON roles USING btree (workspace);

CREATE TABLE role_permissions (
    id serial NOT NULL,
    role_id integer NOT NULL,
    resource_type character varying(64) NOT NULL,
    resource_pattern character varying(255) NOT NULL,
    permission character varying(255) NOT NULL,
    CONSTRAINT role_permissions_pkey PRIMARY KEY (id),
    CONSTRAINT unique_role_resource_perm UNIQUE (role_id, resource_type, resource_pattern),
    CONSTRAINT role_permissions_role_id_fkey FOREIGN KEY (role_id) REFERENCES roles(id)
);
CREATE INDEX idx_role_permissions_role_id ON role_permissions USING btree (role_id);

CREATE TABLE user_role_assignments (
    id serial NOT NULL,
    user_id integer NOT NULL,
    role_id integer NOT NULL,
    CONSTRAINT user_role_assignments_pkey PRIMARY KEY (id),
    CONSTRAINT unique_user_role UNIQUE (user_id, role_id),
    CONSTRAINT user_role_assignments_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id),
    CONSTRAINT user_role_assignments_role_id_fkey FOREIGN KEY (role_id) REFERENCES roles(id)
);
CREATE INDEX idx_user_role_assignments_user_id ON user_role_assignments USING btree (user_id);
CREATE INDEX idx_user_role_assignments_role_id ON user_role_assignments USING btree (role_id);

INSERT INTO alembic_version_auth (version_num) VALUES ('f1a2b3c4d5e6');
