/* uart.h: a 16550 UART subset at 0x3f8 whose transmitter writes to a host fd. */
#ifndef DEVICES_UART_H
#define DEVICES_UART_H

#include <stdbool.h>
#include <stdint.h>

#define UART_BASE 0x3f8
#define UART_NPORTS 8

struct uart {
	int fd;                     /* THR bytes are for this fd (the caller writes them); -1 discards */
	uint8_t ier, lcr, mcr, scr; /* stored, no behaviour: the guest takes no interrupts */
	uint8_t dll, dlm;           /* divisor latch, reachable while LCR.DLAB is set */
};

/* Resets the registers and sets the output fd. */
void uart_init(struct uart *u, int fd);

/* True when port is one of the UART's eight registers. */
bool uart_owns(uint16_t port);

/*
 * One byte access to port (UART_BASE..UART_BASE+7). Writes store the
 * register; a THR write returns true when the byte is for the console
 * (u->fd >= 0): the caller writes it out, so a console that does not drain
 * cannot block the device (vmm/hcall.c), and a write error is not the
 * guest's to see. Reads fill *data: LSR says the transmitter is empty, RBR
 * has no data, IIR no interrupt.
 */
bool uart_io(struct uart *u, uint16_t port, bool is_write, uint8_t *data);

#endif
