import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DecisionPoint } from '@stepgate/agent-core';
import { admissionAnswer, parseAdmissionReview } from './k8s-admission.js';
import { checkRequestLimits } from './decision-input.js';
import { accessReviewAnswer, parseSubjectAccessReview } from './k8s-authorize.js';
import { readJson } from './request-body.js';

/** Where the Kubernetes webhooks are served (fixed surface). */
export const K8S_ADMISSION_PATH = '/v1/k8s/admission';
export const K8S_AUTHORIZE_PATH = '/v1/k8s/authorize';

/**
 * An AdmissionReview of an update carries the object and the old object, each up to the
 * API server's ~1.5 MiB object limit (a full ConfigMap), so the agent's general 1 MiB body
 * limit would turn large updates into webhook failures.
 */
export const MAX_REVIEW_BYTES = 8 * 1024 * 1024;

/** Size-limit errors name decision-input fields; say where they come from. */
const LIMIT_PREFIX = 'the decision input built from this review is too large: ';

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * The Kubernetes webhook routes, spread into the agent's route table. Decisions carry no
 * bearer evidence: the API server calls on the user's behalf, so step-up evidence comes from
 * the grants the control plane pushes for the username (honoured inside `point.decide`).
 * Errors thrown here (StepgateError `request/invalid`, 400/413) are answered by the server's JSON error path.
 */
export function k8sRoutes(
  point: Pick<DecisionPoint, 'decide'>,
): Record<string, Record<string, Route>> {
  return {
    [K8S_ADMISSION_PATH]: {
      POST: async (req, res) => {
        const input = parseAdmissionReview(await readReview(req));
        checkRequestLimits(input.request, { prefix: LIMIT_PREFIX });
        // A dry run changes nothing, so it leaves no decision-log record (the webhook is
        // registered with sideEffects: NoneOnDryRun).
        const decision = point.decide(input.request, undefined, { record: !input.dryRun });
        sendReview(res, admissionAnswer(input, decision));
      },
    },
    [K8S_AUTHORIZE_PATH]: {
      POST: async (req, res) => {
        const input = parseSubjectAccessReview(await readReview(req));
        checkRequestLimits(input.request, { prefix: LIMIT_PREFIX });
        sendReview(res, accessReviewAnswer(input, point.decide(input.request)));
      },
    },
  };
}

function readReview(req: IncomingMessage): Promise<unknown> {
  return readJson(req, MAX_REVIEW_BYTES, 'an AdmissionReview or SubjectAccessReview', 'the review');
}

function sendReview(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
