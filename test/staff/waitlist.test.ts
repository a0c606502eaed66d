/**
 * Waitlist promotion under concurrency: two residents who each hold a spot the other waits for
 * withdraw at the same moment. Each promotion tells the other resident, whose conversation the
 * other turn holds; run inside the turns, they waited on each other for ever (found in review).
 */
import { describe, expect, it } from 'vitest';
import { smsAddress, TestConversation, useTestService } from '../support/harness.js';
import { createRole, setRoleStatus } from '../../src/staff/role-desk.js';
import { createShift } from '../../src/staff/shift-desk.js';

const service = useTestService();
const admin = { username: 'test', role: 'admin' as const };

async function role(title: string): Promise<string> {
  const created = await createRole(
    service().staff,
    {
      title,
      description: 'Help out',
      interests: [],
      neighbourhood: 'Eastside',
      place: 'Hall',
      // Ahead of the real clock the turns run on: a role that is over is not withdrawn from.
      startsAt: new Date(Date.now() + 14 * 86_400_000),
      capacity: 1,
      contact: 'c@x.example',
    },
    admin,
  );
  return created._id;
}

async function signUp(resident: TestConversation, ref: string, name?: string): Promise<void> {
  await resident.send(ref);
  await resident.send('1');
  if (name) await resident.send(name);
  else await resident.send('yes');
}

/** Walks to the "withdraw from <title>?" question; the last answer is sent by the caller. */
async function askToWithdraw(resident: TestConversation, title: string): Promise<void> {
  await resident.send('volunteer');
  const mine = await resident.send('my sign-ups');
  const line = mine.split('\n').find((l) => l.includes(title) && !l.includes('waitlist'));
  if (!line) throw new Error(`No confirmed ${title} in: ${mine}`);
  await resident.send(line.split('.')[0]!.trim());
}

describe('waitlist promotion', () => {
  it('lets two residents swap spots at the same moment without blocking each other', async () => {
    const first = await role('Morning shift');
    const second = await role('Evening shift');
    const ana = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 600_000));
    const ben = new TestConversation(service(), smsAddress(), undefined, new Date(Date.now() - 600_000));
    await signUp(ana, first, 'Ana');
    await signUp(ben, second, 'Ben');
    await signUp(ana, second);
    await signUp(ben, first);
    await askToWithdraw(ana, 'Morning shift');
    await askToWithdraw(ben, 'Evening shift');

    const both = Promise.all([ana.send('yes'), ben.send('yes')]);
    const answers = await Promise.race([
      both,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the two withdrawals blocked each other')), 10_000)),
    ]);
    expect(answers.every((answer) => answer.includes('no longer signed up'))).toBe(true);
    await expect
      .poll(async () => [
        (await service().store.signups.get(`${first}|${ben.address}`))?.status,
        (await service().store.signups.get(`${second}|${ana.address}`))?.status,
      ])
      .toEqual(['confirmed', 'confirmed']);
  });

  it("promotes a shift's waitlist when its role is reopened: a spot freed while the role was closed is not lost", async () => {
    const ref = await role('Pantry shift');
    const startsAt = new Date(Date.now() + 10 * 86_400_000);
    const shift = await createShift(service().staff, ref, { startsAt, endsAt: new Date(startsAt.getTime() + 3 * 3_600_000), capacity: 1 }, admin);
    const [ana, ben] = [smsAddress(), smsAddress()];
    for (const [address, status, minute] of [
      [ana, 'confirmed', 0],
      [ben, 'waitlisted', 1],
    ] as const) {
      const at = new Date(Date.now() - (10 - minute) * 60_000);
      await service().store.signups.insert({
        _id: `${shift._id}|${address}`,
        roleId: ref,
        shiftId: shift._id,
        address,
        name: 'N',
        channel: 'sms',
        status,
        createdAt: at,
        updatedAt: at,
      });
    }
    await setRoleStatus(service().staff, ref, 'closed', admin);
    // Ana withdraws while the role is closed: nobody is promoted into a closed role.
    expect(await service().staff.runner.withdrawSignup(`${shift._id}|${ana}`, 'resident', new Date())).toBe('cancelled');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await service().store.signups.get(`${shift._id}|${ben}`))?.status).toBe('waitlisted');

    await setRoleStatus(service().staff, ref, 'open', admin);
    expect((await service().store.signups.get(`${shift._id}|${ben}`))?.status).toBe('confirmed');
  });
});
