-- CreateEnum
CREATE TYPE "policy_source_kind" AS ENUM ('embedded', 'remote');

-- CreateEnum
CREATE TYPE "policy_version_status" AS ENUM ('ready', 'failed');

-- CreateEnum
CREATE TYPE "activation_kind" AS ENUM ('activate', 'rollback', 'shadow_set', 'shadow_clear');

-- CreateEnum
CREATE TYPE "signing_key_status" AS ENUM ('active', 'retired');

-- CreateTable
CREATE TABLE "policy_source" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "policy_source_kind" NOT NULL,
    "url" TEXT,
    "branch" TEXT NOT NULL DEFAULT 'main',
    "path" TEXT NOT NULL DEFAULT '.',
    "credentials_encrypted" TEXT,
    "webhook_secret_encrypted" TEXT,
    "poll_interval_seconds" INTEGER,
    "auto_activate" BOOLEAN NOT NULL DEFAULT true,
    "last_synced_sha" VARCHAR(40),
    "last_sync_at" TIMESTAMPTZ(3),
    "last_sync_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "policy_source_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "policy_version" (
    "id" TEXT NOT NULL,
    "number" SERIAL NOT NULL,
    "source_id" TEXT NOT NULL,
    "sha" VARCHAR(40) NOT NULL,
    "branch" TEXT NOT NULL,
    "author" TEXT NOT NULL,
    "author_email" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "committed_at" TIMESTAMPTZ(3) NOT NULL,
    "status" "policy_version_status" NOT NULL,
    "errors" JSONB,
    "test_report" JSONB,
    "policy_set" JSONB,
    "bundle_hash" TEXT,
    "size" INTEGER,
    "force_push" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "policy_version_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "active_state" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "active_version_id" TEXT,
    "shadow_version_id" TEXT,
    "revision" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "active_state_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "activation" (
    "id" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "kind" "activation_kind" NOT NULL,
    "actor" TEXT NOT NULL,
    "reason" TEXT,
    "from_version_id" TEXT,
    "to_version_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "activation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_event" (
    "id" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "reason" TEXT,
    "details" JSONB,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_token" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" CHAR(64) NOT NULL,
    "prefix" VARCHAR(8) NOT NULL,
    "scopes" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_by" TEXT,

    CONSTRAINT "api_token_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "signing_key" (
    "kid" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL DEFAULT 'EdDSA',
    "public_jwk" JSONB NOT NULL,
    "status" "signing_key_status" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "signing_key_pkey" PRIMARY KEY ("kid")
);

-- CreateTable
CREATE TABLE "webhook_delivery" (
    "id" TEXT NOT NULL,
    "source_id" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_delivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "policy_source_name_key" ON "policy_source"("name");

-- CreateIndex
CREATE UNIQUE INDEX "policy_version_number_key" ON "policy_version"("number");

-- CreateIndex
CREATE INDEX "policy_version_source_id_created_at_idx" ON "policy_version"("source_id", "created_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "policy_version_source_id_sha_key" ON "policy_version"("source_id", "sha");

-- CreateIndex
CREATE UNIQUE INDEX "activation_revision_key" ON "activation"("revision");

-- CreateIndex
CREATE INDEX "activation_created_at_idx" ON "activation"("created_at");

-- CreateIndex
CREATE INDEX "audit_event_at_idx" ON "audit_event"("at");

-- CreateIndex
CREATE INDEX "audit_event_action_at_idx" ON "audit_event"("action", "at");

-- CreateIndex
CREATE INDEX "audit_event_target_at_idx" ON "audit_event"("target", "at");

-- CreateIndex
CREATE UNIQUE INDEX "api_token_token_hash_key" ON "api_token"("token_hash");

-- CreateIndex
CREATE INDEX "signing_key_status_idx" ON "signing_key"("status");

-- CreateIndex
CREATE INDEX "webhook_delivery_source_id_idx" ON "webhook_delivery"("source_id");

-- CreateIndex
CREATE INDEX "webhook_delivery_received_at_idx" ON "webhook_delivery"("received_at");

-- AddForeignKey
ALTER TABLE "policy_version" ADD CONSTRAINT "policy_version_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "policy_source"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "active_state" ADD CONSTRAINT "active_state_active_version_id_fkey" FOREIGN KEY ("active_version_id") REFERENCES "policy_version"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "active_state" ADD CONSTRAINT "active_state_shadow_version_id_fkey" FOREIGN KEY ("shadow_version_id") REFERENCES "policy_version"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "activation" ADD CONSTRAINT "activation_from_version_id_fkey" FOREIGN KEY ("from_version_id") REFERENCES "policy_version"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "activation" ADD CONSTRAINT "activation_to_version_id_fkey" FOREIGN KEY ("to_version_id") REFERENCES "policy_version"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_delivery" ADD CONSTRAINT "webhook_delivery_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "policy_source"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written: ActiveState is a singleton that always exists, so activation can bump its
-- revision with a row-locking UPDATE instead of racing upserts.
ALTER TABLE "active_state" ADD CONSTRAINT "active_state_singleton" CHECK ("id" = 1);
INSERT INTO "active_state" ("id") VALUES (1);
