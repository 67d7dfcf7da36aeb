// The alert workflow on the processor's HTTP port (`pdm alerts` for other programs), behind a bearer
// token (http.apiToken); without one configured the API is not served at all:
//   GET  /api/alerts?since=7d                      episodes and the machines muted now (AlertOverview)
//   POST /api/alerts/:id/ack      {who, note?}
//   POST /api/alerts/:id/resolve  {who, note?}     applied at the machine's next window
//   POST /api/alerts/:id/label    {who, label, cause?, note?}
//   POST /api/machines/:id/mute   {who, for | until, site?, note?}   for: a duration ("4h"), until: ISO-8601
//   POST /api/machines/:id/unmute {who, site?, note?}
// A request the stored alerts refuse answers 404 (unknown alert or machine), 409 (already resolved,
// naming by whom and when; of two resolves at once, the one answered second) or 400 (a bad field: a
// mute ending in the past or after InfluxDB drops it, a machine or site id with a control character),
// with {message}, before anything is written; a missing or wrong token 401.
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  BadRequestException,
  Body,
  type CanActivate,
  ConflictException,
  Controller,
  type DynamicModule,
  type ExecutionContext,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Post,
  Query,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import type { Clock } from '@pdm/clock';
import { parseDuration, parseTimestamp } from '@pdm/config';
import { AlertWorkflow, AlertWorkflowError, type Actor, type AlertAction, type AlertOverview } from '../alerts/alert-workflow.js';

const API_TOKEN = Symbol('API_TOKEN');
const API_CLOCK = Symbol('API_CLOCK');

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Lets a request through when it carries `Authorization: Bearer <token>`, compared in constant time.
 * The scheme in any case (`bearer`, `BEARER`): HTTP authentication schemes are case-insensitive (RFC 9110 §11.1).
 */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(API_TOKEN) token: string) {
    this.expected = digest(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers.authorization ?? '';
    const given = /^Bearer +(.+)$/i.exec(header)?.[1];
    // Digests of equal length: the comparison takes as long whatever the token given.
    if (given === undefined || !timingSafeEqual(digest(given), this.expected)) throw new UnauthorizedException('a valid Authorization: Bearer <http.apiToken> header is required');
    return true;
  }
}

type Fields = Record<string, unknown>;

function text(body: Fields, name: string, required: true): string;
function text(body: Fields, name: string, required?: false): string | undefined;
function text(body: Fields, name: string, required = false): string | undefined {
  const value = body[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value === '') throw new BadRequestException(`"${name}" must be a non-empty string`);
  return value;
}

function actor(body: Fields | undefined): Actor {
  const fields = body ?? {};
  const note = text(fields, 'note');
  return { who: text(fields, 'who', true), ...(note !== undefined && { note }) };
}

function duration(name: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new BadRequestException(`"${name}": ${(error as Error).message}`);
  }
}

/** The workflow's refusals as HTTP answers. */
async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof AlertWorkflowError)) throw error;
    if (error.reason === 'unknown') throw new NotFoundException(error.message);
    if (error.reason === 'conflict') throw new ConflictException(error.message);
    throw new BadRequestException(error.message);
  }
}

@Controller('api')
@UseGuards(ApiTokenGuard)
export class AlertsApiController {
  constructor(
    @Inject(AlertWorkflow) private readonly workflow: AlertWorkflow,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  @Get('alerts')
  list(@Query('since') since = '7d'): Promise<AlertOverview> {
    return answer(() => this.workflow.list(this.clock.now() - duration('since', since)));
  }

  @Post('alerts/:id/ack')
  @HttpCode(200)
  ack(@Param('id') id: string, @Body() body?: Fields): Promise<AlertAction> {
    return answer(() => this.workflow.ack(id, actor(body)));
  }

  @Post('alerts/:id/resolve')
  @HttpCode(200)
  resolve(@Param('id') id: string, @Body() body?: Fields): Promise<AlertAction> {
    return answer(() => this.workflow.resolve(id, actor(body)));
  }

  @Post('alerts/:id/label')
  @HttpCode(200)
  label(@Param('id') id: string, @Body() body?: Fields): Promise<AlertAction> {
    return answer(() => this.workflow.label(id, text(body ?? {}, 'label', true), text(body ?? {}, 'cause'), actor(body)));
  }

  @Post('machines/:id/mute')
  @HttpCode(200)
  mute(@Param('id') id: string, @Body() body?: Fields): Promise<AlertAction> {
    const fields = body ?? {};
    const [forText, untilText] = [text(fields, 'for'), text(fields, 'until')];
    if ((forText === undefined) === (untilText === undefined)) throw new BadRequestException('give either "for" (a duration such as "4h") or "until" (an ISO-8601 time)');
    // The CLI's syntax (pdm alerts mute --until): a time without a zone is UTC, not the processor host's zone.
    const until = forText !== undefined ? this.clock.now() + duration('for', forText) : parseTimestamp(untilText!);
    if (until === null) throw new BadRequestException(`"until": "${untilText}" is not an ISO-8601 time (no zone = UTC) or epoch ms/s, such as 2026-12-06T18:00:00Z`);
    return answer(() => this.workflow.mute(this.machine(id, fields), until, actor(body)));
  }

  @Post('machines/:id/unmute')
  @HttpCode(200)
  unmute(@Param('id') id: string, @Body() body?: Fields): Promise<AlertAction> {
    return answer(() => this.workflow.unmute(this.machine(id, body ?? {}), actor(body)));
  }

  private machine(machineId: string, body: Fields): { machineId: string; siteId?: string } {
    const site = text(body, 'site');
    return { machineId, ...(site !== undefined && { siteId: site }) };
  }
}

@Module({})
export class AlertsApiModule {
  static register(workflow: AlertWorkflow, token: string, clock: Clock): DynamicModule {
    return {
      module: AlertsApiModule,
      controllers: [AlertsApiController],
      providers: [
        { provide: AlertWorkflow, useValue: workflow },
        { provide: API_TOKEN, useValue: token },
        { provide: API_CLOCK, useValue: clock },
        ApiTokenGuard,
      ],
    };
  }
}
