/**
 * The cashier page and the operations console: their JSON routes and the built pages.
 * See docs/architecture.md, "## web".
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ClientService, OperatorService } from '../access/index.js';
import type { ChannelGateway } from '../channel/index.js';
import type { Ledger } from '../ledger/index.js';
import type { MarketingService } from '../marketing/index.js';
import type { MemberService } from '../member/index.js';
import type { Clock, Config } from '../platform/index.js';
import type { TradeSubsystem } from '../trade/index.js';
import { cashierRoutes } from './cashier.routes.js';
import { CashierService } from './cashier.service.js';
import { consoleRoutes } from './console.routes.js';
import { LoginThrottle } from './login-throttle.js';
import { TrafficMeter } from './traffic-meter.js';
import { webAssetRoutes } from './web-assets.js';

export { issueCashierToken, verifyCashierToken, type CashierGrant } from './cashier-link.js';
export { CashierService, type CashierView } from './cashier.service.js';
export { TrafficMeter } from './traffic-meter.js';
export { webDistDir } from './web-assets.js';

export interface WebDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly operators: OperatorService;
  readonly clients: ClientService;
  readonly channel: ChannelGateway;
  readonly members: MemberService;
  readonly marketing: MarketingService;
  readonly ledger: Ledger;
  readonly trade: TradeSubsystem;
}

export interface Web {
  readonly cashier: CashierService;
  readonly meter: TrafficMeter;
  readonly routes: FastifyPluginAsync[];
}

export function createWeb(deps: WebDeps): Web {
  const { trades, refunds, payment } = deps.trade;
  const cashier = new CashierService({ trades, members: deps.members, marketing: deps.marketing, ledger: deps.ledger, sourceTimeoutMs: deps.config.web.cashierSourceTimeoutMs });
  const meter = new TrafficMeter(() => Date.now());
  // 5 wrong passwords per operator name, 20 per address, in 15 minutes.
  const loginThrottle = new LoginThrottle({ name: { max: 5, windowMs: 15 * 60_000 }, address: { max: 20, windowMs: 15 * 60_000 } });
  deps.channel.onResult((order) => meter.record(order));
  return {
    cashier,
    meter,
    routes: [
      cashierRoutes({ cashier, trades, members: deps.members, secret: deps.config.web.cashierSecret, linkTtlMs: deps.config.web.cashierLinkTtlMs, clock: deps.clock }),
      consoleRoutes({ operators: deps.operators, clients: deps.clients, channel: deps.channel, members: deps.members, ledger: deps.ledger, trades, refunds, payment, meter, loginThrottle }),
      webAssetRoutes(),
    ],
  };
}
