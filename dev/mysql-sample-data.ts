/**
 * Generated MySQL/MariaDB data that is awkward to dump and restore faithfully: utf8mb4 text (emoji,
 * CJK, combining marks), binary columns holding every byte value (NUL, quote, backslash, newline),
 * JSON, DECIMAL at full precision, DATE/DATETIME(6)/TIMESTAMP/TIME/YEAR, BIT, ENUM/SET, text that
 * looks like SQL (`'),(`, `;`, a line starting with INSERT INTO), NULL next to empty strings, odd
 * identifiers (a space, a backtick), a trigger, a stored procedure, a function, an event and a
 * view. Deterministic for a given row count.
 */
import type { Connection } from 'mysql2/promise';

const TEXTS = [
  'plain ascii',
  "it's a 'quoted' \"string\" with \\backslashes\\",
  'line one\nline two\r\nwindows\ttab',
  "'),(99,'injected');--",
  '\nINSERT INTO `orders` VALUES (1,2,3);',
  'emoji 🚀🔥👩‍👩‍👧 and flags 🇩🇪🇯🇵',
  '中文字符 日本語のテキスト 한국어',
  'e\u0301 combining, ß, İ, ﬁ ligature',
  '',
  'DELIMITER ;;',
  '/*!40000 ALTER TABLE `x` DISABLE KEYS */;',
  'ends with backslash \\',
];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function bytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

const SCHEMA = [
  `CREATE TABLE customers (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     name VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
     note TEXT NULL,
     tier ENUM('free', 'pro', 'ünterprise') NOT NULL DEFAULT 'free',
     flags SET('a', 'b', 'c') NOT NULL DEFAULT '',
     active BIT(3) NOT NULL DEFAULT b'101',
     born DATE NULL,
     created DATETIME(6) NOT NULL,
     touched TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
     KEY by_name (name(20))
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='customers; with ''quotes'''`,
  `CREATE TABLE \`order lines\` (
     id BIGINT NOT NULL PRIMARY KEY,
     customer_id INT UNSIGNED NOT NULL,
     amount DECIMAL(30,10) NOT NULL,
     ratio DOUBLE NULL,
     at_time TIME(3) NULL,
     yr YEAR NULL,
     doc JSON NULL,
     CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE blobs (
     id INT NOT NULL PRIMARY KEY,
     every_byte BLOB NOT NULL,
     fixed BINARY(16) NULL,
     var VARBINARY(300) NULL,
     big MEDIUMBLOB NULL
   ) ENGINE=InnoDB`,
  'CREATE TABLE `odd``name` (`we``ird col` INT NOT NULL PRIMARY KEY, `ünïcode` VARCHAR(20)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
  'CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT UNSIGNED, what VARCHAR(40)) ENGINE=InnoDB',
  'CREATE TABLE empty_one (id INT PRIMARY KEY) ENGINE=InnoDB',
  `CREATE TRIGGER customers_audit AFTER INSERT ON customers FOR EACH ROW
     INSERT INTO audit (customer_id, what) VALUES (NEW.id, CONCAT('created: ', LEFT(NEW.name, 20)))`,
  `CREATE PROCEDURE add_line(IN cid INT UNSIGNED, IN amt DECIMAL(30,10))
   BEGIN
     DECLARE next_id BIGINT;
     SELECT COALESCE(MAX(id), 0) + 1 INTO next_id FROM \`order lines\`;
     INSERT INTO \`order lines\` (id, customer_id, amount) VALUES (next_id, cid, amt);
   END`,
  `CREATE FUNCTION gross(net DECIMAL(30,10)) RETURNS DECIMAL(30,10) DETERMINISTIC RETURN net * 1.19`,
  `CREATE EVENT nightly_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 03:00:00' ON COMPLETION PRESERVE DISABLE
     DO DELETE FROM audit WHERE what LIKE 'tmp%'`,
  `CREATE VIEW customer_totals AS
     SELECT c.id, c.name, COUNT(l.id) AS line_count, COALESCE(SUM(l.amount), 0) AS total
       FROM customers c LEFT JOIN \`order lines\` l ON l.customer_id = c.id GROUP BY c.id, c.name`,
];

/** Tables the sample creates (base tables, without the view). */
export const SAMPLE_TABLES = ['audit', 'blobs', 'customers', 'empty_one', 'odd`name', 'order lines'];

async function insertMany(c: Connection, sql: string, rows: unknown[][], batch = 200): Promise<void> {
  for (let i = 0; i < rows.length; i += batch) await c.query(sql, [rows.slice(i, i + batch)]);
}

/**
 * Creates the sample schema in the connection's current database and fills it with `rows`
 * customers (and about twice as many order lines, and `rows / 4` blobs).
 */
export async function fillMysqlSample(c: Connection, rows = 500): Promise<void> {
  for (const stmt of SCHEMA) await c.query(stmt);
  const rand = lcg(rows);
  const customers = Array.from({ length: rows }, (_, i) => [
    `${TEXTS[i % TEXTS.length]} #${i}`,
    i % 7 === 0 ? null : i % 7 === 1 ? '' : TEXTS[(i * 5) % TEXTS.length],
    ['free', 'pro', 'ünterprise'][i % 3],
    ['', 'a', 'a,c', 'b,c'][i % 4],
    i % 8,
    i % 11 === 0 ? null : `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`,
    `2024-0${1 + (i % 9)}-2${i % 8} 1${i % 10}:0${i % 6}:3${i % 10}.${String((i * 7919) % 1_000_000).padStart(6, '0')}`,
  ]);
  await insertMany(c, 'INSERT INTO customers (name, note, tier, flags, active, born, created) VALUES ?', customers);
  const lines = Array.from({ length: rows * 2 }, (_, i) => [
    i + 1,
    1 + (i % rows),
    `${i % 3 === 0 ? '-' : ''}${Math.floor(rand() * 1e15)}.${String(Math.floor(rand() * 1e10)).padStart(10, '0')}`,
    i % 5 === 0 ? null : i % 5 === 1 ? -0 : rand() * 1e10,
    i % 4 === 0 ? null : `${i % 839}:${String(i % 60).padStart(2, '0')}:07.125`,
    1901 + (i % 254),
    i % 6 === 0 ? null : JSON.stringify({ i, text: TEXTS[i % TEXTS.length], nested: { list: [1, 2.5, null, true, '🚀'] } }),
  ]);
  await insertMany(c, 'INSERT INTO `order lines` (id, customer_id, amount, ratio, at_time, yr, doc) VALUES ?', lines);
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const blobs = Array.from({ length: Math.max(4, Math.floor(rows / 4)) }, (_, i) => [
    i + 1,
    Buffer.concat([every, Buffer.from(`'\\\n;),(${i}`)]),
    i % 3 === 0 ? null : bytes(rand, 16),
    bytes(rand, i % 300),
    i % 10 === 0 ? bytes(rand, 200_000) : null,
  ]);
  await insertMany(c, 'INSERT INTO blobs (id, every_byte, fixed, var, big) VALUES ?', blobs, 20);
  await c.query('INSERT INTO `odd``name` VALUES ?', [
    [
      [1, 'ä'],
      [2, '🚀'],
      [3, null],
    ],
  ]);
}
