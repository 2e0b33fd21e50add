-- AlterTable
ALTER TABLE "decision_log" ADD COLUMN     "data_revision" INTEGER;
