-- AlterTable
ALTER TABLE "policy_version" ADD COLUMN     "protection_changed" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "pushed_by" TEXT;

-- AlterTable
ALTER TABLE "api_token" ADD COLUMN     "agent_id" TEXT;

-- AlterTable
ALTER TABLE "signing_key" ADD COLUMN     "endorsed_by" TEXT,
ADD COLUMN     "endorsement" TEXT;

-- AlterTable
ALTER TABLE "agent" ADD COLUMN     "token_id" TEXT;

-- CreateTable
CREATE TABLE "enrolment_code" (
    "id" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "code_hash" CHAR(64) NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "enrolment_code_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "enrolment_code_code_hash_key" ON "enrolment_code"("code_hash");

-- CreateIndex
CREATE INDEX "enrolment_code_subject_idx" ON "enrolment_code"("subject");

-- CreateIndex
CREATE UNIQUE INDEX "api_token_agent_id_key" ON "api_token"("agent_id");
