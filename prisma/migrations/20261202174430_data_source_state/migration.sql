-- CreateTable
CREATE TABLE "data_source_state" (
    "name" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "etag" TEXT,
    "last_fetch_at" TIMESTAMPTZ(3),
    "last_success_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "last_error_at" TIMESTAMPTZ(3),
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "bytes" INTEGER,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "data_source_state_pkey" PRIMARY KEY ("name")
);
