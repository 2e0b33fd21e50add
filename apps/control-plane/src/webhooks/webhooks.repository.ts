import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/** Webhook deliveries already received, by delivery key (forges redeliver). */
@Injectable()
export class WebhooksRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Records a delivery; false when its key was recorded before (a redelivery). */
  recordDelivery(id: string, sourceId: string): Promise<boolean> {
    return this.prisma.webhookDelivery
      .create({ data: { id, sourceId } })
      .then(() => true)
      .catch((error: { code?: string }) => {
        if (error.code === 'P2002') return false;
        throw error;
      });
  }

  /** Forgets a delivery that was not processed, so its redelivery is. */
  async forgetDelivery(id: string): Promise<void> {
    await this.prisma.webhookDelivery.delete({ where: { id } }).catch(() => undefined);
  }
}
