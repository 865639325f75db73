import { MongoBulkWriteError, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isStoreUnavailable } from './mongo.ts';

describe('isStoreUnavailable', () => {
  it('sees a socket the server closed mid-write (EPIPE inside a bulk write error) as an outage', () => {
    // What the driver threw when the Mongo-wire server was stopped under a write (store fault test).
    const epipe = Object.assign(new Error('This socket has been ended by the other party'), {
      code: 'EPIPE',
    });
    expect(isStoreUnavailable(new MongoBulkWriteError(epipe, {} as never))).toBe(true);
    expect(isStoreUnavailable(new Error('wrapped', { cause: epipe }))).toBe(true);
  });

  it('does not take a refusal for an outage', () => {
    expect(isStoreUnavailable(new MongoServerError({ message: 'E11000 duplicate key', code: 11000 }))).toBe(
      false,
    );
    expect(isStoreUnavailable(new Error('bad input'))).toBe(false);
  });
});
