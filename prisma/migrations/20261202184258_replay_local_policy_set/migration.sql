-- AlterTable
ALTER TABLE "replay" ADD COLUMN     "policy_set" JSONB,
ALTER COLUMN "version_id" DROP NOT NULL,
ALTER COLUMN "version_number" DROP NOT NULL,
ALTER COLUMN "version_sha" DROP NOT NULL;
