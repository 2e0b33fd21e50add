-- CreateEnum
CREATE TYPE "live_data_op" AS ENUM ('put', 'patch', 'delete');

-- AlterTable
ALTER TABLE "agent" ADD COLUMN     "data_revision" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "live_data_state" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "revision" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "live_data_state_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "live_document" (
    "name" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "revision" INTEGER NOT NULL,
    "updated_by" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "live_document_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "live_data_change" (
    "revision" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "key" TEXT,
    "op" "live_data_op" NOT NULL,
    "before" JSONB NOT NULL,
    "after" JSONB NOT NULL,
    "changed" TEXT[],
    "actor" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "live_data_change_pkey" PRIMARY KEY ("revision")
);

-- CreateIndex
CREATE INDEX "live_data_change_name_revision_idx" ON "live_data_change"("name", "revision" DESC);

-- Hand-written: LiveDataState is a singleton that always exists, so a write bumps its revision
-- with a row-locking UPDATE (writers on every replica serialise there) instead of racing upserts.
ALTER TABLE "live_data_state" ADD CONSTRAINT "live_data_state_singleton" CHECK ("id" = 1);
INSERT INTO "live_data_state" ("id") VALUES (1);
