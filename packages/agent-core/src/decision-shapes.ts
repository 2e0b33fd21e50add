import type { DecisionRequest } from '@stepgate/policy';
import type { DecisionInput } from '@stepgate/protocol';

/** True only when `A` and `B` are the same type (optional fields included), not merely assignable. */
type SameShape<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/**
 * The wire's decision input (what the one request parser returns) and the language's decision
 * request are declared in two packages that may not import each other. agent-core sees both:
 * this stops compiling the moment they drift apart, in either direction.
 */
export const DECISION_SHAPES_AGREE: SameShape<DecisionInput, DecisionRequest> = true;
