-- AlterTable
ALTER TABLE "decision_log" ADD COLUMN     "signals" JSONB;
