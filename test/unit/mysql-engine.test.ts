import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import fc from 'fast-check';
import { LifeboatError } from '../../src/errors.js';
import {
  detectMysqlProvider,
  parseMysqlUrl,
  parseToolVersion,
  planDump,
  restoreArgs,
  RestoreFilter,
  classifyToolExit,
  markerStrategyFor,
  type MysqlServerInfo,
} from '../../src/engines/mysql/index.js';
import { optionFileText } from '../../src/engines/mysql/option-file.js';
import { DumpScanner } from '../../src/engines/mysql/dump-scanner.js';

describe('MySQL provider detection over real host names', () => {
  test.each([
    ['aws.connect.psdb.cloud', 'planetscale'],
    ['us-east.connect.psdb.cloud', 'planetscale'],
    ['eu-west.connect.psdb.cloud.', 'planetscale'],
    ['orders-prod.cluster-c9akciq32.eu-central-1.rds.amazonaws.com', 'rds'],
    ['orders-prod.cluster-ro-c9akciq32.eu-central-1.rds.amazonaws.com', 'rds'],
    ['mydb.c6c8mwvfdgv0.us-west-2.rds.amazonaws.com', 'rds'],
    ['shop.cjbzsaodmbq8.rds.cn-north-1.amazonaws.com.cn', 'rds'],
    ['rds.amazonaws.com.example.net', 'self-hosted'],
    ['orders-flex.mysql.database.azure.com', 'azure'],
    ['legacy-single.mariadb.database.azure.com', 'azure'],
    ['db-mysql-fra1-12345-do-user-678-0.b.db.ondigitalocean.com', 'digitalocean'],
    ['monorail.proxy.rlwy.net', 'railway'],
    ['mysql.railway.internal', 'railway'],
    ['db.internal.example.com', 'self-hosted'],
    ['127.0.0.1', 'self-hosted'],
    ['psdb.cloud.evil.example', 'self-hosted'],
  ])('%s is %s', (host, provider) => {
    expect(detectMysqlProvider(host)).toBe(provider);
  });
});

describe('parseMysqlUrl', () => {
  test('reads every part, keeps the password in memory and takes TLS from the preset', () => {
    const c = parseMysqlUrl('mysql://app%40x:p%40ss%3Aw%2Frd@aws.connect.psdb.cloud/orders');
    expect(c).toMatchObject({ host: 'aws.connect.psdb.cloud', port: 3306, user: 'app@x', password: 'p@ss:w/rd', database: 'orders', tls: 'verify-identity' });
    expect(c.preset.provider).toBe('planetscale');
    expect(parseMysqlUrl('mariadb://root@[::1]:3307/').host).toBe('::1');
    expect(parseMysqlUrl('mariadb://root@[::1]:3307/').database).toBe('');
  });

  test('an explicit ssl-mode wins over the preset; provider can be configured', () => {
    expect(parseMysqlUrl('mysql://u@db.example.com/x?ssl-mode=REQUIRED').tls).toBe('required');
    expect(parseMysqlUrl('mysql://u@db.example.com/x?sslmode=verify-full&ssl-ca=/etc/ca.pem')).toMatchObject({ tls: 'verify-identity', tlsCa: '/etc/ca.pem' });
    expect(parseMysqlUrl('mysql://u@10.0.0.5/x', 'rds')).toMatchObject({ tls: 'required', preset: { provider: 'rds' } });
  });

  test.each([
    ['postgres://u@h/db', /scheme postgres: is not mysql: or mariadb:/],
    ['not a url', /cannot be parsed/],
    ['mysql://u@h/db?ssl-mode=sometimes', /ssl-mode "sometimes" is not one of/],
    ['mysql://u@h/db?charset=latin1', /unknown parameter "charset"/],
    ['mysql://u@h/a/b', /is not a MySQL database name/],
  ])('%s is refused with the reason', (url, reason) => {
    let err: unknown;
    try {
      parseMysqlUrl(url);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LifeboatError);
    expect((err as LifeboatError).code).toBe('CONFIG_INVALID');
    expect((err as Error).message).toMatch(reason);
    expect((err as Error).message).not.toContain('p@ss');
  });
});

const MARIADB_10_11: MysqlServerInfo = {
  flavour: 'mariadb',
  version: '10.11.6-MariaDB-log',
  series: '10.11',
  major: 10,
  minor: 11,
  sizeBytes: 0,
  logBin: true,
  gtidMode: false,
  vitess: false,
};
const MYSQL_8_0: MysqlServerInfo = {
  flavour: 'mysql',
  version: '8.0.36',
  series: '8.0',
  major: 8,
  minor: 0,
  sizeBytes: 0,
  logBin: true,
  gtidMode: true,
  vitess: false,
};
const PLANETSCALE: MysqlServerInfo = { ...MYSQL_8_0, version: '8.0.34-Vitess', vitess: true };
const F = '/tmp/lb/client.cnf';
const COMMON = [
  `--defaults-extra-file=${F}`,
  '--single-transaction',
  '--quick',
  '--hex-blob',
  '--default-character-set=utf8mb4',
  '--no-tablespaces',
  '--max-allowed-packet=1G',
];

describe('dump and restore commands per preset (exact)', () => {
  test.each([
    [
      'self-hosted MariaDB, full',
      'mariadb://u@db.local/shop',
      MARIADB_10_11,
      'full',
      'mariadb-dump',
      [...COMMON, '--routines', '--events', '--triggers', '--master-data=2', '--gtid', 'shop'],
      [],
    ],
    [
      'self-hosted MariaDB, schema',
      'mariadb://u@db.local/shop',
      MARIADB_10_11,
      'schema',
      'mariadb-dump',
      [...COMMON, '--no-data', '--routines', '--events', '--triggers', '--master-data=2', '--gtid', 'shop'],
      [],
    ],
    [
      'self-hosted MariaDB without binlog, data',
      'mariadb://u@db.local/shop',
      { ...MARIADB_10_11, logBin: false },
      'data',
      'mariadb-dump',
      [...COMMON, '--no-create-info', '--skip-triggers', '--complete-insert', 'shop'],
      [],
    ],
    [
      'MySQL 8 (RDS), full',
      'mysql://u@orders.c9akciq32.eu-central-1.rds.amazonaws.com/orders',
      MYSQL_8_0,
      'full',
      'mysqldump',
      [...COMMON, '--routines', '--events', '--triggers', '--set-gtid-purged=OFF', 'orders'],
      [],
    ],
    [
      'MySQL 8 self-hosted, schema',
      'mysql://u@10.1.2.3/orders',
      MYSQL_8_0,
      'schema',
      'mysqldump',
      [...COMMON, '--no-data', '--routines', '--events', '--triggers', '--set-gtid-purged=OFF', 'orders'],
      [],
    ],
    [
      'PlanetScale, full',
      'mysql://u@aws.connect.psdb.cloud/orders',
      PLANETSCALE,
      'full',
      'mysqldump',
      [...COMMON, '--skip-triggers', '--skip-lock-tables', '--skip-add-locks', '--set-gtid-purged=OFF', '--column-statistics=0', 'orders'],
      [`loose-init-command="SET workload = 'olap'"`],
    ],
  ] as const)('%s', (_name, url, server, kind, toolName, args, optionLines) => {
    const conn = parseMysqlUrl(url);
    const plan = planDump({
      preset: conn.preset,
      server,
      tool: { flavour: server.flavour, major: server.major },
      kind,
      database: conn.database,
      optionFile: F,
    });
    expect(`${toolName} ${plan.args.join(' ')}`).toBe(`${toolName} ${args.join(' ')}`);
    expect(plan.optionLines).toEqual(optionLines);
    expect(plan.positionInDump).toBe(server.flavour === 'mariadb' && server.logBin);
    expect(restoreArgs(F, 'orders_restore')).toEqual([
      `--defaults-extra-file=${F}`,
      '--batch',
      '--binary-mode',
      '--default-character-set=utf8mb4',
      '--max-allowed-packet=1G',
      '--connect-timeout=20',
      '--database=orders_restore',
    ]);
  });

  test('PlanetScale leaves routines, triggers and events out and says so', () => {
    const conn = parseMysqlUrl('mysql://u@aws.connect.psdb.cloud/orders');
    const plan = planDump({ preset: conn.preset, server: PLANETSCALE, tool: { flavour: 'mysql', major: 8 }, kind: 'full', database: 'orders', optionFile: F });
    expect(plan.notes).toEqual(['routines, triggers and events are not dumped (planetscale rejects them)']);
    expect(conn.preset.restoreNotes.join('\n')).toMatch(/existing branch/);
  });

  test('option files carry the connection per flavour, with values escaped', () => {
    const conn = parseMysqlUrl(`mysql://app:${encodeURIComponent('a"b\\c #;\' 🚀')}@aws.connect.psdb.cloud:3306/orders`);
    expect(
      optionFileText(conn, 'mysql', { group: 'mysqldump', lines: ['loose-init-command="SET workload = \'olap\'"'] }, '/etc/ssl/certs/ca-certificates.crt'),
    ).toBe(
      [
        '[client]',
        'host="aws.connect.psdb.cloud"',
        'port=3306',
        'user="app"',
        'password="a\\"b\\\\c #;\' 🚀"',
        'ssl-mode=VERIFY_IDENTITY',
        'ssl-ca="/etc/ssl/certs/ca-certificates.crt"',
        '[mysqldump]',
        'loose-init-command="SET workload = \'olap\'"',
        '',
      ].join('\n'),
    );
    const local = parseMysqlUrl('mariadb://root:pw@localhost/shop?ssl-mode=required');
    expect(optionFileText(local, 'mariadb', undefined)).toBe(
      '[client]\nhost="localhost"\nport=3306\nuser="root"\npassword="pw"\nprotocol=TCP\nssl\nskip-ssl-verify-server-cert\n',
    );
  });
});

describe('tool versions and markers', () => {
  test.each([
    ['mariadb-dump  Ver 10.19 Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)', { version: '10.11.6', flavour: 'mariadb' }],
    ['mariadb-dump from 11.4.2-MariaDB, client 10.19 for linux-systemd (x86_64)', { version: '11.4.2', flavour: 'mariadb' }],
    ['mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)', { version: '8.0.36', flavour: 'mysql' }],
    ['mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)', { version: '5.7.44', flavour: 'mysql' }],
    ['mysql  Ver 8.4.0 for Linux on aarch64 (MySQL Community Server - GPL)', { version: '8.4.0', flavour: 'mysql' }],
    ['mariadb  Ver 15.1 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64) using  EditLine wrapper', { version: '10.11.19', flavour: 'mariadb' }],
    ['something else 1.2', undefined],
  ])('%s', (line, expected) => {
    expect(parseToolVersion(line)).toEqual(expected);
  });

  test('schema comments on MariaDB 10.5+, the registry elsewhere', () => {
    expect(markerStrategyFor({ flavour: 'mariadb', major: 10, minor: 11 })).toBe('schema-comment');
    expect(markerStrategyFor({ flavour: 'mariadb', major: 10, minor: 4 })).toBe('registry');
    expect(markerStrategyFor({ flavour: 'mysql', major: 8, minor: 4 })).toBe('registry');
  });

  test.each([
    ["mariadb-dump: Got error: 1045: \"Access denied for user 'x'@'1.2.3.4' (using password: YES)\" when trying to connect", 'AUTH_FAILED'],
    ['mariadb-dump: Got error: 1049: "Unknown database \'nope\'" when selecting the database', 'DATABASE_NOT_FOUND'],
    ["mysqldump: Got error: 2003: Can't connect to MySQL server on '10.0.0.1:3306' (111)", 'CONNECTION_FAILED'],
    [
      "mysqldump: Couldn't execute 'SELECT COLUMN_NAME, JSON_EXTRACT(HISTOGRAM, '$.\"number-of-buckets-specified\"') FROM information_schema.COLUMN_STATISTICS': Unknown table 'COLUMN_STATISTICS' in information_schema (1109)",
      'TOOL_MISSING',
    ],
    ['mariadb-dump: Error 1412: Table definition has changed, please retry transaction when dumping table `t3` at row: 0', 'DUMP_FAILED'],
  ])('tool failure %#', (stderr, code) => {
    const err = classifyToolExit({ tool: 'mariadb-dump', ok: false, exitCode: 2, stderr }, 'shop', 'Backup', 'DUMP_FAILED');
    expect(err.code).toBe(code);
    expect(err.message).toMatch(/^Backup of shop failed: mariadb-dump exited with code 2/);
  });
});

const MYSQL_STYLE = [
  "-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000042', SOURCE_LOG_POS=157;",
  'DELIMITER ;;',
  'INSERT INTO `t` VALUES (999);',
  'DELIMITER ;',
  'CREATE TABLE `t` (',
  '  `a` int',
  ');',
  "INSERT INTO `t` VALUES (1,'a\\'b'),(2,'(\\\\'),(3,'x''y'),(4,0x28293B),(5,NULL);",
  "INSERT INTO `t` VALUES (6,'),(');",
  'CREATE TABLE `we``ird` (`x` int);',
  'INSERT INTO `we``ird` (`x`, `VALUES(`) VALUES (1,2),(3,4);',
  'CREATE TABLE `empty` (`x` int);',
  '',
].join('\n');

const MARIADB_STYLE = [
  "-- CHANGE MASTER TO MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=3339;",
  '-- Dumping data for table `t`',
  'INSERT INTO `t` VALUES',
  "(1,'line\\nbreak'),",
  "(2,'INSERT INTO `t` VALUES (7);'),",
  '(3,_binary 0x00);',
  "-- SET GLOBAL gtid_slave_pos='0-1-17';",
  '',
].join('\n');

describe('DumpScanner', () => {
  test('counts rows of both dump styles and reads the recorded position', () => {
    const s = new DumpScanner();
    s.push(Buffer.from(MYSQL_STYLE));
    expect(s.counts()).toEqual({ t: 6, 'we`ird': 2, empty: 0 });
    expect(s.position).toEqual({ file: 'binlog.000042', pos: 157 });
    expect(s.incomplete()).toBe(false);
    const m = new DumpScanner();
    m.push(Buffer.from(MARIADB_STYLE));
    expect(m.counts()).toEqual({ t: 3 });
    expect(m.position).toEqual({ file: 'binlog.000001', pos: 3339, gtid: '0-1-17' });
  });

  test('the counts do not depend on where the stream is cut into chunks', () => {
    const all = Buffer.from(MYSQL_STYLE + MARIADB_STYLE);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: all.length - 1 }), { maxLength: 12 }), (cuts) => {
        const s = new DumpScanner();
        let at = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          s.push(all.subarray(at, c));
          at = c;
        }
        s.push(all.subarray(at));
        expect(s.counts()).toEqual({ t: 9, 'we`ird': 2, empty: 0 });
      }),
      { numRuns: 300 },
    );
  });

  test('random rows with quotes, backslashes, parentheses and semicolons in their strings are counted exactly, however cut', () => {
    // A value as mysqldump writes it: a number, hex, NULL, or a string with \\ \' '' ( ) ; inside.
    const piece = fc.constantFrom('a', 'xyz', '\\\\', "\\'", "''", '(', ')', ';', '),(', '\\n', ' ', '"', '\\"');
    const str = fc.array(piece, { maxLength: 12 }).map((p) => `'${p.join('')}'`);
    const value = fc.oneof(fc.integer().map(String), fc.constant('NULL'), fc.constant('0x28293B'), str);
    const row = fc.array(value, { minLength: 1, maxLength: 4 }).map((v) => `(${v.join(',')})`);
    const stmt = fc.array(row, { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.array(stmt, { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 97 }), { maxLength: 40 }), (stmts, sizes) => {
        const dump = Buffer.from(`CREATE TABLE \`t\` (a int);\n${stmts.map((rows) => `INSERT INTO \`t\` VALUES ${rows.join(',')};\n`).join('')}`);
        const s = new DumpScanner();
        let at = 0;
        for (const size of sizes) {
          s.push(dump.subarray(at, at + size));
          at += size;
        }
        s.push(dump.subarray(at));
        expect(s.counts()).toEqual({ t: stmts.reduce((n, rows) => n + rows.length, 0) });
        expect(s.incomplete()).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  test('a stream cut inside an INSERT is reported incomplete', () => {
    const s = new DumpScanner();
    s.push(Buffer.from("CREATE TABLE `t` (`a` int);\nINSERT INTO `t` VALUES (1,'abc"));
    expect(s.incomplete()).toBe(true);
  });
});

describe('RestoreFilter', () => {
  const dump = [
    'SET NAMES utf8mb4;',
    '--',
    '-- Table structure for table `a`',
    '--',
    'CREATE TABLE `a` (x int);',
    '-- Dumping data for table `a`',
    'INSERT INTO `a` VALUES (1);',
    '/*!50003 CREATE*/ /*!50003 TRIGGER a_t BEFORE INSERT ON a FOR EACH ROW SET NEW.x = NEW.x */;;',
    '-- Table structure for table `b`',
    'CREATE TABLE `b` (x int);',
    "INSERT INTO `b` VALUES ('ALTER DATABASE `shop` CHARACTER SET latin1');",
    "-- Dumping routines for database 'shop'",
    '-- Dumping routines for database `shop`',
    '/*!50003 ALTER DATABASE `shop` CHARACTER SET latin1 COLLATE latin1_swedish_ci */ ;;',
    'CREATE PROCEDURE p() SELECT 1 ;;',
    '',
  ].join('\n');

  test('points ALTER DATABASE at the target, never the source, and leaves data alone', async () => {
    const out = await text(
      Readable.from([Buffer.from(dump)]).pipe(new RestoreFilter({ sourceDatabase: 'shop', targetDatabase: 'shop_copy', subject: 'shop into shop_copy' })),
    );
    expect(out).toContain('/*!50003 ALTER DATABASE `shop_copy` CHARACTER SET latin1');
    expect(out).toContain("INSERT INTO `b` VALUES ('ALTER DATABASE `shop` CHARACTER SET latin1');");
    expect(out.split('\n').filter((l) => l.includes('ALTER DATABASE `shop`'))).toHaveLength(1);
  });

  test('keeps only the chosen tables (with their triggers) in mode tables', async () => {
    const f = new RestoreFilter({ sourceDatabase: 'shop', targetDatabase: 'x', tables: ['a'], subject: 'shop into x' });
    const out = await text(Readable.from([Buffer.from(dump)]).pipe(f));
    expect(out).toContain('CREATE TABLE `a`');
    expect(out).toContain('TRIGGER a_t');
    expect(out).not.toContain('CREATE TABLE `b`');
    expect(out).not.toContain('PROCEDURE');
    expect([...f.seen]).toEqual(['a']);
  });

  test('refuses a dump that switches databases', async () => {
    const f = new RestoreFilter({ sourceDatabase: 'shop', targetDatabase: 'x', subject: 'shop into x' });
    await expect(text(Readable.from([Buffer.from('SELECT 1;\nUSE `other`;\n')]).pipe(f))).rejects.toThrow(
      /refused: the dump switches or creates databases \(USE `other`;\)/,
    );
  });
});
