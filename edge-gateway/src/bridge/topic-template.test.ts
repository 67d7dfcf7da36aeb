import { describe, expect, it } from 'vitest';
import { TopicTemplate, topicTemplateProblem } from './topic-template.js';

describe('topic templates', () => {
  it('capture {machine} and {sensor}, ignore other names and +, and subscribe with the same shape', () => {
    const template = new TopicTemplate('plant/{line}/{machine}/+/{sensor}');
    expect(template.filter).toBe('plant/+/+/+/+');
    expect(template.match('plant/l1/press-3/analog/temp')).toEqual({ machineId: 'press-3', sensorId: 'temp' });
    expect(template.match('plant/l1/press-3/temp')).toBeUndefined(); // a level short
    expect(template.match('plant/l1/press-3/analog/temp/x')).toBeUndefined(); // a level too many
    expect(template.match('other/l1/press-3/analog/temp')).toBeUndefined(); // another literal
  });

  it('take the sensor before the machine, and any number of trailing levels after #', () => {
    const template = new TopicTemplate('{sensor}/of/{machine}/#');
    expect(template.filter).toBe('+/of/+/#');
    expect(template.match('temp/of/pump-1')).toEqual({ machineId: 'pump-1', sensorId: 'temp' });
    expect(template.match('temp/of/pump-1/raw/v2')).toEqual({ machineId: 'pump-1', sensorId: 'temp' });
    expect(template.match('$SYS/of/pump-1')).toBeUndefined(); // a leading wildcard never matches system topics
  });

  it('leave id checks to ingest: an empty or odd level is captured as it is', () => {
    expect(new TopicTemplate('a/{machine}/{sensor}').match('a//temp')).toEqual({ machineId: '', sensorId: 'temp' });
  });

  it('compose ids of named levels and text, so machines of the same name on two lines stay apart', () => {
    const template = new TopicTemplate('plant/{line}/{machine}/{channel}/{sensor}', { machineId: '{line}-{machine}', sensorId: '{sensor}.{channel}' });
    expect(template.match('plant/l1/press-3/ai0/temp')).toEqual({ machineId: 'l1-press-3', sensorId: 'temp.ai0' });
    expect(template.match('plant/l2/press-3/ai0/temp')).toEqual({ machineId: 'l2-press-3', sensorId: 'temp.ai0' });
    expect(new TopicTemplate('{machine}/{sensor}', { machineId: 'site-b.{machine}' }).match('pump/temp')).toEqual({ machineId: 'site-b.pump', sensorId: 'temp' });
  });

  it('say what is wrong with an invalid template, and in which key', () => {
    const topic = (message: string) => ({ key: 'topic', message });
    expect(topicTemplateProblem('plant/{machine}/{sensor}')).toBeUndefined();
    expect(topicTemplateProblem('plant/{machine}/value')).toEqual(topic('must name the levels {machine} and {sensor}'));
    expect(topicTemplateProblem('plant/{machine}/{machine}/{sensor}')).toEqual(topic('{machine} appears twice'));
    expect(topicTemplateProblem('plant/#/{machine}/{sensor}')).toEqual(topic('"#" must be a whole level and the last one'));
    expect(topicTemplateProblem('plant/press-+/{machine}/{sensor}')).toEqual(topic('"+" must be a whole level'));
    expect(topicTemplateProblem('plant/{machine}-x/{sensor}')?.message).toMatch(/must be \{name\}/);
    const template = 'plant/{line}/{machine}/{sensor}';
    expect(topicTemplateProblem(template, { machineId: '{lin}-{machine}' })).toEqual({
      key: 'machineId',
      message: '"{lin}-{machine}" names {lin}, which is no level of the topic template',
    });
    expect(topicTemplateProblem(template, { sensorId: '{sensor}/{line}' })).toEqual({ key: 'sensorId', message: '"{sensor}/{line}": text besides {name} must be [A-Za-z0-9_.-]' });
    expect(topicTemplateProblem(template, { machineId: 'press' })).toEqual({ key: 'machineId', message: '"press" names no level of the topic template' });
  });
});
