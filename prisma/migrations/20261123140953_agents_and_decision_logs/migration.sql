-- CreateEnum
CREATE TYPE "agent_status" AS ENUM ('connected', 'disconnected');

-- CreateEnum
CREATE TYPE "decision_effect" AS ENUM ('allow', 'deny', 'step_up');

-- CreateTable
CREATE TABLE "agent" (
    "id" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "agent_version" TEXT,
    "active_revision" INTEGER,
    "active_ack_at" TIMESTAMPTZ(3),
    "shadow_revision" INTEGER,
    "last_ack_at" TIMESTAMPTZ(3),
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "connected_at" TIMESTAMPTZ(3),
    "status" "agent_status" NOT NULL,
    "replica" TEXT,
    "connection_id" TEXT,
    "last_rejection" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "agent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "decision_log" (
    "id" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "agent_id" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "effect" "decision_effect" NOT NULL,
    "fail_reason" TEXT,
    "principal" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "resource_kind" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "require" JSONB,
    "reasons" JSONB NOT NULL,
    "shadow_effect" "decision_effect",
    "shadow_revision" INTEGER,
    "shadow_reasons" JSONB,
    "input" JSONB,
    "errors" INTEGER NOT NULL DEFAULT 0,
    "duration_ns" BIGINT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "decision_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "agent_status_idx" ON "agent"("status");

-- CreateIndex
CREATE INDEX "agent_replica_status_idx" ON "agent"("replica", "status");

-- CreateIndex
CREATE INDEX "decision_log_at_id_idx" ON "decision_log"("at", "id");

-- CreateIndex
CREATE INDEX "decision_log_principal_at_idx" ON "decision_log"("principal", "at");

-- CreateIndex
CREATE INDEX "decision_log_effect_at_idx" ON "decision_log"("effect", "at");

-- CreateIndex
CREATE INDEX "decision_log_agent_id_at_idx" ON "decision_log"("agent_id", "at");
