-- CreateEnum
CREATE TYPE "pipeline_gate_status" AS ENUM ('pending', 'approved', 'rejected', 'expired');

-- CreateTable
CREATE TABLE "pipeline_gate" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "principal" TEXT NOT NULL,
    "input" JSONB NOT NULL,
    "target" JSONB NOT NULL,
    "sealed_secrets" TEXT,
    "status" "pipeline_gate_status" NOT NULL DEFAULT 'pending',
    "decision" JSONB,
    "approval_request_id" TEXT,
    "claimed_until" TIMESTAMPTZ(3),
    "report_attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "pipeline_gate_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "pipeline_delivery" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pipeline_delivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "pipeline_gate_status_claimed_until_idx" ON "pipeline_gate"("status", "claimed_until");

-- CreateIndex
CREATE INDEX "pipeline_gate_kind_created_at_idx" ON "pipeline_gate"("kind", "created_at");

-- CreateIndex
CREATE INDEX "pipeline_delivery_received_at_idx" ON "pipeline_delivery"("received_at");
