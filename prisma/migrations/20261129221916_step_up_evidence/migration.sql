-- CreateEnum
CREATE TYPE "grant_kind" AS ENUM ('elevation', 'approval');

-- CreateEnum
CREATE TYPE "approval_status" AS ENUM ('pending', 'approved', 'denied', 'expired');

-- CreateEnum
CREATE TYPE "webauthn_challenge_purpose" AS ENUM ('registration', 'authentication');

-- AlterTable
ALTER TABLE "api_token" ADD COLUMN     "subject" TEXT;

-- CreateTable
CREATE TABLE "grant" (
    "id" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "kind" "grant_kind" NOT NULL,
    "method" TEXT NOT NULL,
    "amr" TEXT[],
    "level" TEXT,
    "auth_time" TIMESTAMPTZ(3) NOT NULL,
    "approvals" TEXT[],
    "actions" TEXT[],
    "resources" TEXT[],
    "jws" TEXT NOT NULL,
    "issued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "revoked_by" TEXT,
    "created_by" TEXT NOT NULL,
    "approval_request_id" TEXT,

    CONSTRAINT "grant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "approval_request" (
    "id" TEXT NOT NULL,
    "requester" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "resource_kind" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "required" INTEGER NOT NULL,
    "status" "approval_status" NOT NULL DEFAULT 'pending',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "closed_at" TIMESTAMPTZ(3),
    "denied_by" TEXT,
    "denial_comment" TEXT,

    CONSTRAINT "approval_request_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "approval" (
    "id" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "approver" TEXT NOT NULL,
    "comment" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "approval_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "totp_factor" (
    "subject" TEXT NOT NULL,
    "secret_encrypted" TEXT NOT NULL,
    "confirmed_at" TIMESTAMPTZ(3),
    "last_used_step" BIGINT,
    "failed_attempts" INTEGER NOT NULL DEFAULT 0,
    "locked_until" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "totp_factor_pkey" PRIMARY KEY ("subject")
);

-- CreateTable
CREATE TABLE "webauthn_credential" (
    "id" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "public_key" BYTEA NOT NULL,
    "counter" BIGINT NOT NULL DEFAULT 0,
    "transports" TEXT[],
    "device_type" TEXT NOT NULL,
    "backed_up" BOOLEAN NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "webauthn_credential_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webauthn_challenge" (
    "challenge" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "purpose" "webauthn_challenge_purpose" NOT NULL,
    "scope" JSONB,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webauthn_challenge_pkey" PRIMARY KEY ("challenge")
);

-- CreateIndex
CREATE UNIQUE INDEX "grant_approval_request_id_key" ON "grant"("approval_request_id");

-- CreateIndex
CREATE INDEX "grant_subject_expires_at_idx" ON "grant"("subject", "expires_at");

-- CreateIndex
CREATE INDEX "grant_expires_at_idx" ON "grant"("expires_at");

-- CreateIndex
CREATE INDEX "approval_request_status_expires_at_idx" ON "approval_request"("status", "expires_at");

-- CreateIndex
CREATE INDEX "approval_request_requester_created_at_idx" ON "approval_request"("requester", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "approval_request_id_approver_key" ON "approval"("request_id", "approver");

-- CreateIndex
CREATE INDEX "webauthn_credential_subject_idx" ON "webauthn_credential"("subject");

-- CreateIndex
CREATE INDEX "webauthn_challenge_expires_at_idx" ON "webauthn_challenge"("expires_at");

-- AddForeignKey
ALTER TABLE "grant" ADD CONSTRAINT "grant_approval_request_id_fkey" FOREIGN KEY ("approval_request_id") REFERENCES "approval_request"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "approval" ADD CONSTRAINT "approval_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "approval_request"("id") ON DELETE CASCADE ON UPDATE CASCADE;
