/**
 * Input checks shared by history.query and the HTTP API. Each check throws a BadRequest whose
 * message names the field ("limit: must be ..."), which both surfaces pass on as they are.
 */
import { SUB_MAX } from '@parley/auth';
import { parseRoomId } from '@parley/protocol';

export class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

export function checkRoom(value: unknown, maxMembers: number, field = 'room'): string {
  const r = parseRoomId(value, maxMembers);
  if (!r.ok) throw new BadRequest(`${field}: ${r.message}`);
  return r.room.id;
}

export function checkInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw new BadRequest(`${field}: must be an integer between ${min} and ${max}`);
  return value;
}

export function checkOptInt(field: string, value: unknown, min: number, max: number): number | undefined {
  return value === undefined || value === null ? undefined : checkInt(field, value, min, max);
}

/** A decimal query-string parameter; absent or empty means undefined. */
export function queryInt(field: string, raw: string | null, min: number, max: number): number | undefined {
  if (raw === null || raw === '') return undefined;
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  return checkInt(field, n, min, max);
}

export function checkUser(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > SUB_MAX)
    throw new BadRequest(`user: must be a string of 1-${SUB_MAX} characters`);
  return value;
}

export function checkRooms(value: unknown, maxRooms: number, maxMembers: number): string[] {
  if (!Array.isArray(value) || value.length > maxRooms)
    throw new BadRequest(`rooms: must be an array of at most ${maxRooms} room ids`);
  return value.map((room, i) => checkRoom(room, maxMembers, `rooms[${i}]`));
}
