DROP TABLE held_seats;
