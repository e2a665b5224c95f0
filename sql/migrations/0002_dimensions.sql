-- Dimensions: the codelists and the reporting calendar as tables, so analysts join names,
-- ICCS sections, activity windows and deadlines to the facts in SQL.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.
-- The rows come from plugins/topcop/codelists, written by topcop.warehouse.dimensions on
-- every migrate (and so before every load): stewards edit the codelist files, never these
-- tables. Facts keep the codes they were loaded with and have no foreign keys to these
-- tables, so a code retired from a list never rewrites history.

CREATE TABLE reporting_unit (
    reporting_unit  VARCHAR(8)    NOT NULL PRIMARY KEY,
    name            VARCHAR(200)  NOT NULL,
    active_from     DATE          NOT NULL,
    active_until    DATE,
    note            TEXT
);

CREATE TABLE crime_area (
    crime_area    VARCHAR(16)   NOT NULL PRIMARY KEY,
    name          VARCHAR(200)  NOT NULL,
    iccs_section  VARCHAR(2)    NOT NULL
);

CREATE TABLE indicator (
    indicator           VARCHAR(32)   NOT NULL PRIMARY KEY,
    name                VARCHAR(200)  NOT NULL,
    unit                VARCHAR(8)    NOT NULL,
    whole_number        BOOLEAN       NOT NULL,
    breakdowns          VARCHAR(200),
    crime_areas         VARCHAR(400),
    justice_chain_step  INTEGER
);

CREATE TABLE commodity (
    commodity  VARCHAR(32)   NOT NULL PRIMARY KEY,
    name       VARCHAR(200)  NOT NULL,
    units      VARCHAR(40)   NOT NULL
);

-- The datasets of the reporting calendar (codelists/calendar.yaml). A submission's
-- dataset 'return' is a whole workbook, which carries every one of them.
CREATE TABLE dataset (
    dataset           VARCHAR(16)  NOT NULL PRIMARY KEY,
    frequency         CHAR(1)      NOT NULL,
    deadline_days     INTEGER      NOT NULL,
    close_after_days  INTEGER      NOT NULL,
    CONSTRAINT ck_dataset_frequency CHECK (frequency IN ('A', 'S', 'Q', 'M'))
);

CREATE TABLE reporting_period (
    period      VARCHAR(10)  NOT NULL PRIMARY KEY,
    frequency   CHAR(1)      NOT NULL,
    year        INTEGER      NOT NULL,
    number      INTEGER      NOT NULL,
    start_date  DATE         NOT NULL,
    end_date    DATE         NOT NULL,
    CONSTRAINT ck_reporting_period_frequency CHECK (frequency IN ('A', 'S', 'Q', 'M'))
);

-- One row per dataset and period of its frequency: the dates a return is judged by,
-- worked out once in Python (topcop.periods) so no view needs dialect-specific date math.
CREATE TABLE reporting_calendar (
    dataset    VARCHAR(16)  NOT NULL REFERENCES dataset (dataset),
    period     VARCHAR(10)  NOT NULL REFERENCES reporting_period (period),
    deadline   DATE         NOT NULL,
    closes_on  DATE         NOT NULL,
    PRIMARY KEY (dataset, period)
);
