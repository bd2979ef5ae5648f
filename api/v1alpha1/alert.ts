import { Type, type Static } from '@sinclair/typebox';
import { AGE_COLUMN, Conditions, KindSchema, LocalRef, ObservedGeneration, StringEnum, type KindDefinition } from './common.ts';
import { POLICY_TYPES } from './policy.ts';

/** The most Alerts of one namespace that are evaluated (the oldest): each is evaluated and its status written every interval on the one Alert worker all organizations share. */
export const MAX_NAMESPACE_ALERTS = 100;

export const ALERT_TYPES = ['request-count', 'response-codes', 'response-time', 'policy-violations'] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

export const AlertSpec = Type.Object(
  {
    apiInstanceRef: LocalRef('The ApiInstance, in this namespace, whose traffic the alert watches.'),
    severity: StringEnum(['info', 'warning', 'critical'] as const, { description: 'Severity label sent with notifications.', default: 'warning' }),
    condition: Type.Object(
      {
        type: StringEnum(ALERT_TYPES, {
          description:
            'request-count: requests in the period; response-codes: responses with one of statusCodes; response-time: the slowest response in the period, in ms; policy-violations: requests refused by policies (optionally only policyTypes).',
        }),
        threshold: Type.Number({ description: 'The alert fires when the value is above this (a count, or milliseconds for response-time).', minimum: 0 }),
        periodSeconds: Type.Integer({ description: 'Window the value is computed over (what the gateway keeps: at most 300 s).', minimum: 10, maximum: 300, default: 60 }),
        statusCodes: Type.Optional(
          Type.Array(Type.Integer({ description: 'An HTTP status code.', minimum: 100, maximum: 599 }), { description: 'For response-codes: the codes counted.', minItems: 1, maxItems: 32 }),
        ),
        policyTypes: Type.Optional(
          Type.Array(StringEnum(POLICY_TYPES, { description: 'A policy type.' }), { description: 'For policy-violations: count only refusals by these types.', maxItems: 8 }),
        ),
      },
      {
        description: 'What to watch.',
        'x-kubernetes-validations': [
          { rule: "self.type != 'response-codes' || has(self.statusCodes)", message: 'response-codes alerts need statusCodes', fieldPath: '.statusCodes' },
        ],
      },
    ),
    notify: Type.Optional(
      Type.Object(
        {
          url: Type.String({
            description: 'Where state changes are POSTed, Alertmanager v2 style (a JSON list of alerts), e.g. http://alertmanager.monitoring:9093/api/v2/alerts.',
            maxLength: 2048,
            'x-kubernetes-validations': [{ rule: "self.startsWith('http://') || self.startsWith('https://')", message: 'notify.url must be an http:// or https:// URL' }],
          }),
        },
        { description: 'HTTP notification.' },
      ),
    ),
  },
  { description: 'Desired state of the Alert.' },
);

export const AlertStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    state: Type.Optional(StringEnum(['Inactive', 'Firing', 'Unknown'] as const, { description: 'Inactive, Firing, or Unknown when the gateway could not be read.' })),
    value: Type.Optional(Type.Number({ description: 'Last evaluated value.' })),
    since: Type.Optional(Type.String({ description: 'When the state last changed.', format: 'date-time' })),
    lastEvaluation: Type.Optional(Type.String({ description: 'When the value was last computed.', format: 'date-time' })),
    lastNotification: Type.Optional(
      Type.Object(
        {
          time: Type.String({ description: 'When the notification was sent.', format: 'date-time' }),
          state: Type.String({ description: 'State announced.', maxLength: 16 }),
          delivered: Type.Boolean({ description: 'Whether the receiver accepted it (a 2xx answer within the timeout).' }),
          message: Type.String({
            description: 'Delivered, not delivered, or why it was not sent (the URL refused by the platform\'s address rules). Never the receiver\'s status code, body, error or timing: notify.url must not work as a probe.',
            maxLength: 2048,
          }),
        },
        { description: 'The last HTTP notification.' },
      ),
    ),
  },
  { description: 'Observed state of the Alert.' },
);

export const Alert = KindSchema(
  'Alert watches an ApiInstance\'s traffic at the gateway (request count, response codes, response time, policy violations) and, when its state changes, records an Event, updates its status and notifies a URL with an Alertmanager-compatible payload.',
  AlertSpec,
  AlertStatus,
);
export type Alert = Static<typeof Alert>;

export const alertDefinition: KindDefinition<typeof Alert> = {
  kind: 'Alert',
  plural: 'alerts',
  singular: 'alert',
  shortNames: ['alrt'],
  scope: 'Namespaced',
  description: Alert.description!,
  schema: Alert,
  printerColumns: [
    { name: 'API', type: 'string', jsonPath: '.spec.apiInstanceRef.name', description: 'Watched ApiInstance.' },
    { name: 'Type', type: 'string', jsonPath: '.spec.condition.type', description: 'What is watched.' },
    { name: 'Threshold', type: 'number', jsonPath: '.spec.condition.threshold', description: 'Fires above this.' },
    { name: 'Value', type: 'number', jsonPath: '.status.value', description: 'Last value.' },
    { name: 'State', type: 'string', jsonPath: '.status.state', description: 'Inactive, Firing or Unknown.' },
    AGE_COLUMN,
  ],
};
