// Alert transitions from the `alerts` measurement as annotations: a marker where an alert opened or
// resolved, its message as text and its state as tag; and what the maintenance team did
// (`alert_actions`: pdm alerts ack, resolve, mute, unmute, label), who as title, the note as text.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { INFLUX_DATASOURCE } from '../datasource.js';
import { influx } from '../influx-query.js';
import { TIME_FILTER, measurement, selectedMachines } from '../influxql.js';

export function alertAnnotations(): dashboard.AnnotationQueryBuilder {
  const alerts = measurement('alerts');
  const query =
    `SELECT ${alerts.field('message')}, ${alerts.tag('state')}, ${alerts.tag('machine')}, ${alerts.field('score')} ` +
    `FROM ${alerts.from} WHERE ${selectedMachines('alerts')} AND ${TIME_FILTER}`;
  return new dashboard.AnnotationQueryBuilder()
    .name('Alerts')
    .datasource(INFLUX_DATASOURCE)
    .enable(true)
    .iconColor('red')
    .target(influx(query).format('table').annotationColumns({ text: 'message', title: 'machine', tags: 'state' }));
}

export function alertActionAnnotations(): dashboard.AnnotationQueryBuilder {
  const actions = measurement('alert_actions');
  const query =
    `SELECT ${actions.field('note')}, ${actions.field('who')}, ${actions.tag('action')}, ${actions.field('label')}, ${actions.field('cause')} ` +
    `FROM ${actions.from} WHERE ${selectedMachines('alert_actions')} AND ${TIME_FILTER}`;
  return new dashboard.AnnotationQueryBuilder()
    .name('Alert actions')
    .datasource(INFLUX_DATASOURCE)
    .enable(true)
    .iconColor('blue')
    .target(influx(query).format('table').annotationColumns({ text: 'note', title: 'who', tags: 'action,label,cause' }));
}
