// Whether the gateway serves an ApiInstance's route, and if not, how it is kept
// from other organizations' traffic. One verdict for the gateway-config renderer
// (what to emit) and the ApiInstance reconciler (what Ready says); the webhook
// refuses the same problems at admission from the same checks. The operator does
// not trust that the webhook ran: every check here runs again at render time.
//
// Two ways a route is not served:
//   - omit: the route is not emitted at all. For a route that claims space that is
//     not its organization's (a path or host someone else may serve): even a 503
//     there would take the other organization's requests.
//   - withhold: the route stays in the config, closed: the gateway answers 503
//     problem+json on it, so its requests never fall through to another route
//     (a shorter prefix, a catch-all) without the policies it declared.
import type { ApiInstance, Policy, SlaTier } from '../api/v1alpha1/index.ts';
import type { Snapshot } from './snapshot.ts';
import { policyConfigErrors } from './policy-selection.ts';
import { upstreamAllowed } from './upstream.ts';
import { outsideRouteClaims } from './route-claims.ts';
import { routeWithinBudget } from './route-size.ts';
import { gatewayOverBudget } from './gateway-names.ts';

export interface RouteProblem {
  action: 'omit' | 'withhold';
  /** CamelCase, used as the Ready condition's reason. */
  reason: string;
  /** What a user reads on the instance; never the upstream URL (it may carry credentials). */
  message: string;
}

export interface RouteVerdictInput {
  /** Includes the platform settings (snapshot.platform). */
  snapshot: Snapshot;
  instance: ApiInstance;
  /** The policies applied to the instance, in enforcement order. */
  policies: readonly Policy[];
  /** The instance's SlaTiers (the route carries them: they count toward its size). */
  tiers?: readonly SlaTier[];
}

export type RouteCheck = (input: RouteVerdictInput) => RouteProblem | undefined;

/**
 * The checks, in the order their problems are reported. Each is a pure function
 * over the snapshot; the first 'omit' problem wins over any 'withhold' problem.
 */
export const ROUTE_CHECKS: RouteCheck[] = [insideRouteClaims, gatewayWithinBudget, policiesValid, upstreamAllowed, (input) => routeWithinBudget(input)];

/** Contain what slipped past admission: a route outside its organization's route space is never emitted (model/route-claims.ts). */
export function insideRouteClaims({ snapshot, instance }: RouteVerdictInput): RouteProblem | undefined {
  const outside = outsideRouteClaims(snapshot, instance);
  return outside && { action: 'omit', reason: 'OutsideRouteClaims', message: `the gateway does not serve this route: ${outside.message}` };
}

/** An instance naming a gateway over its organization's budget (model/gateway-names.ts) is not served, and its gateway gets no config. */
export function gatewayWithinBudget({ snapshot, instance }: RouteVerdictInput): RouteProblem | undefined {
  const over = gatewayOverBudget(snapshot, instance);
  return over ? { action: 'omit', reason: 'TooManyGateways', message: `the gateway does not serve this route: ${over}` } : undefined;
}

/** Fail closed: a route whose policies include an invalid config is held closed, never served without (say) its api-key policy. */
export function policiesValid({ policies }: RouteVerdictInput): RouteProblem | undefined {
  const broken = policies.filter((p) => policyConfigErrors(p).length > 0).map((p) => p.metadata?.name ?? '');
  if (broken.length === 0) return undefined;
  return {
    action: 'withhold',
    reason: 'InvalidPolicy',
    message: `the gateway answers 503 on this route until ${broken.length > 1 ? 'the configs of Policies' : 'the config of Policy'} ${broken.map((n) => `"${n}"`).join(', ')} ${broken.length > 1 ? 'are' : 'is'} fixed (see ${broken.length > 1 ? 'their' : 'its'} Ready condition)`,
  };
}

/** The problem that keeps the route from being served, or undefined when it is served. */
export function routeVerdict(input: RouteVerdictInput, checks: readonly RouteCheck[] = ROUTE_CHECKS): RouteProblem | undefined {
  let withheld: RouteProblem | undefined;
  for (const check of checks) {
    const p = check(input);
    if (!p) continue;
    if (p.action === 'omit') return p;
    withheld ??= p;
  }
  return withheld;
}
