-- CreateIndex
CREATE INDEX "decision_log_reasons_idx" ON "decision_log" USING GIN ("reasons" jsonb_path_ops);
