-- AlterTable
ALTER TABLE "api_token" ADD COLUMN     "agent_id_prefix" TEXT;

-- A token is bound to one agent id or admits the ids under a prefix (a fleet token), never
-- both. Added by hand: Prisma's schema cannot express CHECK constraints.
ALTER TABLE "api_token" ADD CONSTRAINT "api_token_agent_id_or_prefix" CHECK ("agent_id" IS NULL OR "agent_id_prefix" IS NULL);

-- CreateTable
CREATE TABLE "fleet_agent" (
    "agent_id" TEXT NOT NULL,
    "token_id" TEXT NOT NULL,
    "first_seen" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "fleet_agent_pkey" PRIMARY KEY ("agent_id")
);

-- CreateIndex
CREATE INDEX "fleet_agent_token_id_idx" ON "fleet_agent"("token_id");

-- CreateIndex
CREATE INDEX "api_token_agent_id_prefix_idx" ON "api_token"("agent_id_prefix");

-- AddForeignKey
ALTER TABLE "fleet_agent" ADD CONSTRAINT "fleet_agent_token_id_fkey" FOREIGN KEY ("token_id") REFERENCES "api_token"("id") ON DELETE CASCADE ON UPDATE CASCADE;
