-- AlterTable
ALTER TABLE "decision_log" ADD COLUMN     "replay" JSONB;

-- CreateTable
CREATE TABLE "replay" (
    "id" TEXT NOT NULL,
    "version_id" TEXT NOT NULL,
    "version_number" INTEGER NOT NULL,
    "version_sha" VARCHAR(40) NOT NULL,
    "status" TEXT NOT NULL,
    "since" TIMESTAMPTZ(3) NOT NULL,
    "until" TIMESTAMPTZ(3) NOT NULL,
    "filter" JSONB NOT NULL DEFAULT '{}',
    "examples" INTEGER NOT NULL DEFAULT 5,
    "requested_by" TEXT NOT NULL,
    "read" INTEGER NOT NULL DEFAULT 0,
    "estimated_total" INTEGER NOT NULL DEFAULT 0,
    "result" JSONB,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "replay_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "replay_created_at_idx" ON "replay"("created_at");

-- CreateIndex
CREATE INDEX "decision_log_action_at_idx" ON "decision_log"("action", "at");
