/** The channel gateway seen through the payment core's ChannelPort. */
import type { ChannelGateway, ChannelOrder, OrderResult } from '../channel/index.js';
import type { ChannelOrderView, ChannelPort, ChannelStart } from '../payment/index.js';

function view(order: ChannelOrder): ChannelOrderView {
  return { id: order.id, instructionId: order.instructionId, bank: order.bank, amount: order.amount, status: order.status };
}

function started(result: OrderResult): ChannelStart {
  return result.ok ? { ok: true, order: view(result.order) } : { ok: false, reason: result.reason };
}

export function channelPort(gateway: ChannelGateway): ChannelPort {
  return {
    pay: async (input) => started(await gateway.pay(input)),
    payout: async (input) => started(await gateway.payout(input)),
    refund: async (input) => started(await gateway.refund(input)),
    getOrder: async (id) => {
      const order = await gateway.getOrder(id);
      return order && view(order);
    },
    onResult: (listener) => {
      gateway.onResult((order) => listener(view(order)));
    },
  };
}
