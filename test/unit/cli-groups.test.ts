import { COMMAND_GROUPS, buildProgram, commandName } from '../../src/cli/main.js';

const names = (p: { commands: readonly { name(): string }[] }) => p.commands.map((c) => c.name()).sort();

describe('the CLI loads only the group of the command it runs', () => {
  test('each group lists exactly the commands it registers', async () => {
    const all = await buildProgram();
    expect(names(all)).toEqual(COMMAND_GROUPS.flatMap((g) => g.commands).sort());
    for (const g of COMMAND_GROUPS) {
      const p = await buildProgram(['node', 'lifeboat', g.commands[0]!]);
      expect(names(p)).toEqual([...g.commands].sort());
    }
  });

  test('the command is the first word that is neither an option nor the configuration file', () => {
    expect(commandName(['node', 'lifeboat', '-c', 'backup', 'restore', 'orders'])).toBe('restore');
    expect(commandName(['node', 'lifeboat', '--config', 'x.yaml', 'backup', '--wait'])).toBe('backup');
    expect(commandName(['node', 'lifeboat', '--help'])).toBeUndefined();
  });

  test('help and unknown commands see every command', async () => {
    const every = COMMAND_GROUPS.flatMap((g) => g.commands).length;
    expect((await buildProgram(['node', 'lifeboat', 'help'])).commands).toHaveLength(every);
    expect((await buildProgram(['node', 'lifeboat', 'bakup'])).commands).toHaveLength(every);
  });
});
