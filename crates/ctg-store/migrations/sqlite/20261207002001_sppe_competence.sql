-- Service public de la petite enfance (CASF art. L. 214-1-3): the member communes that transferred the
-- competence of autorité organisatrice to their EPCI. The EPCI then counts the total of their
-- populations against the thresholds.
CREATE TABLE sppe_competence (
    epci_siren    TEXT NOT NULL REFERENCES epci (siren),
    commune_code  TEXT NOT NULL REFERENCES commune (code),
    PRIMARY KEY (epci_siren, commune_code)
);
